// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CredentialRegistry} from "./CredentialRegistry.sol";

/// @notice snarkjs's exported verifier for circuits/provider_credential.circom.
interface IProviderCredentialVerifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[6] calldata pub)
        external
        view
        returns (bool);
}

/// @notice snarkjs's exported verifier for circuits/age_credential.circom.
interface IAgeCredentialVerifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[7] calldata pub)
        external
        view
        returns (bool);
}

/// @title ResearchAccess
/// @notice Spends zero-knowledge credentials: a provider proves an unrevoked credential of
///         a role (useCredential), a patient proves an age predicate attested by a listed
///         attester (useAgeProof), each at most once per scope (a study, a data request...).
///         Every failed check reverts, the Groth16 check included, so eth_estimateGas
///         finds the gas the pairing really needs.
/// @dev Proofs are uint256[8] in the EVM's order: A.x, A.y, B.x_imag, B.x_real, B.y_imag,
///      B.y_real, C.x, C.y (snarkjs's "generatecall" order).
contract ResearchAccess {
    /// @notice A provider proof's currentTime may lag the block by this much.
    uint256 public constant MAX_PROOF_AGE = 1 hours;

    error UnknownRoot(uint256 root);
    error StaleTime(uint256 provided, uint256 blockTime);
    error NotToday(uint256 provided, uint256 blockDate);
    error UnknownAttester();
    error NullifierUsed(uint256 nullifier);
    error InvalidProof();
    error ZeroAddress();

    event CredentialUsed(uint256 indexed scope, uint256 nullifier, uint256 role, address indexed caller);
    event AgeProven(uint256 indexed scope, uint256 nullifier, uint256 minAge, address indexed caller);

    CredentialRegistry public immutable registry;
    IProviderCredentialVerifier public immutable providerVerifier;
    IAgeCredentialVerifier public immutable ageVerifier;

    /// @notice Spent nullifiers (nullifier = Poseidon(scope, secret), so one set serves
    ///         every scope).
    mapping(uint256 => bool) public nullifierUsed;

    /// @param registry_ the CredentialRegistry
    /// @param providerVerifier_ the ProviderCredentialVerifier
    /// @param ageVerifier_ the AgeCredentialVerifier
    constructor(address registry_, address providerVerifier_, address ageVerifier_) {
        if (registry_ == address(0) || providerVerifier_ == address(0) || ageVerifier_ == address(0)) {
            revert ZeroAddress();
        }
        registry = CredentialRegistry(registry_);
        providerVerifier = IProviderCredentialVerifier(providerVerifier_);
        ageVerifier = IAgeCredentialVerifier(ageVerifier_);
    }

    /// @notice Spend a provider credential for a scope. The proof is bound to msg.sender.
    /// @param proof the Groth16 proof (see the contract notes for the order)
    /// @param root the credential-tree root the proof was made against
    /// @param role the role proven
    /// @param currentTime the time the credential was checked unexpired at
    /// @param scope the scope (study or request id)
    /// @param nullifier Poseidon(scope, secret), the proof's output
    function useCredential(
        uint256[8] calldata proof,
        uint256 root,
        uint256 role,
        uint256 currentTime,
        uint256 scope,
        uint256 nullifier
    ) external {
        if (!registry.isValidRoot(root)) revert UnknownRoot(root);
        if (currentTime > block.timestamp || currentTime + MAX_PROOF_AGE < block.timestamp) {
            revert StaleTime(currentTime, block.timestamp);
        }
        if (nullifierUsed[nullifier]) revert NullifierUsed(nullifier);
        uint256[6] memory pub = [nullifier, root, role, currentTime, scope, uint256(uint160(msg.sender))];
        if (!providerVerifier.verifyProof(_a(proof), _b(proof), _c(proof), pub)) revert InvalidProof();
        nullifierUsed[nullifier] = true;
        emit CredentialUsed(scope, nullifier, role, msg.sender);
    }

    /// @notice Spend an age proof for a scope. The proof is bound to msg.sender.
    /// @param proof the Groth16 proof
    /// @param keyX attester key x
    /// @param keyY attester key y
    /// @param today the date (YYYYMMDD, UTC) the age was proven at: the block's date or the day before
    /// @param minAge the age proven (years)
    /// @param scope the scope
    /// @param nullifier Poseidon(scope, secret)
    function useAgeProof(
        uint256[8] calldata proof,
        uint256 keyX,
        uint256 keyY,
        uint256 today,
        uint256 minAge,
        uint256 scope,
        uint256 nullifier
    ) external {
        if (!registry.isAttester(keyX, keyY)) revert UnknownAttester();
        uint256 d = dateOf(block.timestamp);
        if (today != d && today != dateOf(block.timestamp - 1 days)) revert NotToday(today, d);
        if (nullifierUsed[nullifier]) revert NullifierUsed(nullifier);
        uint256[7] memory pub = [nullifier, keyX, keyY, today, minAge, scope, uint256(uint160(msg.sender))];
        if (!ageVerifier.verifyProof(_a(proof), _b(proof), _c(proof), pub)) revert InvalidProof();
        nullifierUsed[nullifier] = true;
        emit AgeProven(scope, nullifier, minAge, msg.sender);
    }

    /// @notice The UTC civil date of a unix time as YYYYMMDD (proleptic Gregorian).
    /// @param t unix time
    /// @return the date
    function dateOf(uint256 t) public pure returns (uint256) {
        // Days-to-civil conversion with eras of 400 years, months counted from March.
        uint256 z = t / 1 days + 719468;
        uint256 era = z / 146097;
        uint256 doe = z - era * 146097;
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        uint256 day = doy - (153 * mp + 2) / 5 + 1;
        uint256 month = mp < 10 ? mp + 3 : mp - 9;
        uint256 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        return year * 10000 + month * 100 + day;
    }

    function _a(uint256[8] calldata p) private pure returns (uint256[2] memory) {
        return [p[0], p[1]];
    }

    function _b(uint256[8] calldata p) private pure returns (uint256[2][2] memory) {
        return [[p[2], p[3]], [p[4], p[5]]];
    }

    function _c(uint256[8] calldata p) private pure returns (uint256[2] memory) {
        return [p[6], p[7]];
    }
}
