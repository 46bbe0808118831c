// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProviderRegistry} from "./PhrTypes.sol";

/// @title ProviderRegistry
/// @notice Credentialing authorities, appointed by governance (a multisig contract such as
///         GovernanceMultisig, or any address), verify providers and emergency providers
///         with a hash of their licence metadata and an expiry, and can suspend them.
///         A provider counts as verified only while its status is Active, its licence has not
///         expired and the authority that verified it is still appointed.
contract ProviderRegistry is IProviderRegistry {
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @notice Role bits of a provider.
    uint8 public constant ROLE_PROVIDER = 1;
    uint8 public constant ROLE_EMERGENCY = 2;

    struct Provider {
        Status status;
        uint8 roles;
        uint64 licenceExpiry;
        address authority;
        bytes32 licenceHash;
    }

    error NotGovernance();
    error NotAuthority();
    error ZeroAddress();
    error InvalidRoles();
    error InvalidExpiry();
    error UnknownProvider(address provider);
    error ProviderIsSuspended(address provider);
    error ProviderNotSuspended(address provider);
    error AuthorityUnchanged(address authority);

    event GovernanceChanged(address indexed previous, address indexed next);
    event AuthoritySet(address indexed authority, bool enabled);
    event ProviderVerified(
        address indexed provider, address indexed authority, uint8 roles, bytes32 licenceHash, uint64 licenceExpiry
    );
    event ProviderSuspended(address indexed provider, address indexed authority, bytes32 reasonHash);
    event ProviderReinstated(address indexed provider, address indexed authority);

    /// @notice The governance address (normally a multisig contract).
    address public governance;
    /// @notice Appointed credentialing authorities.
    mapping(address => bool) public isAuthority;
    mapping(address => Provider) private _providers;

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    modifier onlyAuthority() {
        if (!isAuthority[msg.sender]) revert NotAuthority();
        _;
    }

    /// @param governance_ the governance address
    constructor(address governance_) {
        if (governance_ == address(0)) revert ZeroAddress();
        governance = governance_;
        emit GovernanceChanged(address(0), governance_);
    }

    /// @notice Hand governance to a new address (e.g. a new multisig). Governance only.
    /// @param next the new governance address
    function setGovernance(address next) external onlyGovernance {
        if (next == address(0)) revert ZeroAddress();
        emit GovernanceChanged(governance, next);
        governance = next;
    }

    /// @notice Appoint or remove a credentialing authority. Governance only. Removing an
    ///         authority un-verifies every provider it verified.
    /// @param authority the authority address
    /// @param enabled true to appoint, false to remove
    function setAuthority(address authority, bool enabled) external onlyGovernance {
        if (authority == address(0)) revert ZeroAddress();
        if (isAuthority[authority] == enabled) revert AuthorityUnchanged(authority);
        isAuthority[authority] = enabled;
        emit AuthoritySet(authority, enabled);
    }

    /// @notice Verify (or re-verify, e.g. on licence renewal) a provider. Authority only.
    /// @param provider the provider's address
    /// @param roles ROLE_PROVIDER and/or ROLE_EMERGENCY
    /// @param licenceHash salted hash of the licence metadata (kept off chain)
    /// @param licenceExpiry unix time the licence expires, in the future
    function verifyProvider(address provider, uint8 roles, bytes32 licenceHash, uint64 licenceExpiry)
        external
        onlyAuthority
    {
        if (provider == address(0)) revert ZeroAddress();
        if (roles == 0 || roles > (ROLE_PROVIDER | ROLE_EMERGENCY)) revert InvalidRoles();
        if (licenceExpiry <= block.timestamp) revert InvalidExpiry();
        Provider storage p = _providers[provider];
        if (p.status == Status.Suspended) revert ProviderIsSuspended(provider);
        p.status = Status.Active;
        p.roles = roles;
        p.licenceExpiry = licenceExpiry;
        p.authority = msg.sender;
        p.licenceHash = licenceHash;
        emit ProviderVerified(provider, msg.sender, roles, licenceHash, licenceExpiry);
    }

    /// @notice Suspend a provider (all its access checks fail at once). Authority only.
    /// @param provider the provider
    /// @param reasonHash salted hash of the reason, kept off chain
    function suspendProvider(address provider, bytes32 reasonHash) external onlyAuthority {
        Provider storage p = _providers[provider];
        if (p.status == Status.None) revert UnknownProvider(provider);
        if (p.status == Status.Suspended) revert ProviderIsSuspended(provider);
        p.status = Status.Suspended;
        emit ProviderSuspended(provider, msg.sender, reasonHash);
    }

    /// @notice Lift a suspension. Authority only.
    /// @param provider the provider
    function reinstateProvider(address provider) external onlyAuthority {
        Provider storage p = _providers[provider];
        if (p.status != Status.Suspended) revert ProviderNotSuspended(provider);
        p.status = Status.Active;
        p.authority = msg.sender;
        emit ProviderReinstated(provider, msg.sender);
    }

    /// @notice A provider's entry.
    /// @param provider the provider
    /// @return status None/Active/Suspended
    /// @return roles role bits
    /// @return licenceExpiry licence expiry time
    /// @return authority the verifying authority
    /// @return licenceHash hash of the licence metadata
    function providerInfo(address provider)
        external
        view
        returns (Status status, uint8 roles, uint64 licenceExpiry, address authority, bytes32 licenceHash)
    {
        Provider storage p = _providers[provider];
        return (p.status, p.roles, p.licenceExpiry, p.authority, p.licenceHash);
    }

    /// @notice Whether provider is a verified provider now.
    /// @param provider the address to check
    /// @return true when active, unexpired, with an appointed authority and the provider role
    function isVerified(address provider) external view returns (bool) {
        return _has(provider, ROLE_PROVIDER);
    }

    /// @notice Whether provider is a verified emergency provider now.
    /// @param provider the address to check
    /// @return true when active, unexpired, with an appointed authority and the emergency role
    function isEmergencyProvider(address provider) external view returns (bool) {
        return _has(provider, ROLE_EMERGENCY);
    }

    function _has(address provider, uint8 role) private view returns (bool) {
        Provider storage p = _providers[provider];
        return p.status == Status.Active && (p.roles & role) != 0 && p.licenceExpiry > block.timestamp
            && isAuthority[p.authority];
    }
}
