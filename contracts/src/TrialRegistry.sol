// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICredentialAuthorities, IPoseidon2} from "./CredentialRegistry.sol";

/// @notice The registry that supplies the Poseidon hasher (CredentialRegistry).
interface IPoseidonSource {
    function poseidon2() external view returns (IPoseidon2);
}

/// @notice snarkjs's exported verifier for circuits/trial_enrolment.circom.
interface ITrialEnrolmentVerifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[4] calldata pub)
        external
        view
        returns (bool);
}

/// @title TrialRegistry
/// @notice Anonymous enrolment in clinical trials. A sponsor (a provider verified in
///         ProviderRegistry) creates a trial and inserts the identity commitments
///         (Poseidon(secret)) of the patients it found eligible into the trial's own Poseidon
///         Merkle tree of depth 20. A patient then enrols by proving membership
///         (circuits/trial_enrolment.circom) without saying which commitment is theirs; the
///         nullifier Poseidon(trialId, secret) allows one enrolment per patient per trial and
///         the proof is bound to msg.sender. Removing a patient sets its leaf to 0 and
///         invalidates every earlier root of that trial. Every failed check reverts, the
///         Groth16 check included, so eth_estimateGas finds the gas the pairing needs.
/// @dev Proofs are uint256[8] in the EVM's order (as ResearchAccess): A.x, A.y, B.x_imag,
///      B.x_real, B.y_imag, B.y_real, C.x, C.y.
contract TrialRegistry {
    uint256 public constant DEPTH = 20;
    /// @notice How long a superseded root stays acceptable (insertions only).
    uint256 public constant ROOT_TTL = 1 hours;
    uint256 internal constant SNARK_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    error ZeroAddress();
    error NotVerified(address sponsor);
    error NotSponsor(uint256 trialId);
    error UnknownTrial(uint256 trialId);
    error TrialClosed(uint256 trialId);
    error TreeFull();
    error InvalidCommitment();
    error UnknownParticipant(uint256 index);
    error AlreadyRemoved(uint256 index);
    error UnknownRoot(uint256 root);
    error NullifierUsed(uint256 nullifier);
    error InvalidProof();

    event TrialCreated(uint256 indexed trialId, address indexed sponsor, bytes32 metaHash);
    event TrialClosedBySponsor(uint256 indexed trialId);
    event ParticipantAdded(uint256 indexed trialId, uint256 indexed index, uint256 idCommitment);
    event ParticipantRemoved(uint256 indexed trialId, uint256 indexed index, bytes32 reasonHash);
    event TrialRootChanged(uint256 indexed trialId, uint256 root, uint256 seq);
    event Enrolled(uint256 indexed trialId, uint256 nullifier, address indexed caller);

    struct Trial {
        address sponsor;
        bool closed;
        bytes32 metaHash;
        uint256 root;
        uint256 nextIndex;
        uint256 seq;
        uint256 revokedBefore;
        uint256 enrolled;
    }

    ICredentialAuthorities public immutable providers;
    IPoseidon2 public immutable poseidon2;
    ITrialEnrolmentVerifier public immutable verifier;

    /// @notice Number of trials created (trial ids are 1..trialCount).
    uint256 public trialCount;
    /// @notice Trials by id.
    mapping(uint256 => Trial) public trials;
    /// @notice Spent nullifiers per trial.
    mapping(uint256 => mapping(uint256 => bool)) public nullifierUsed;
    /// @notice Sequence number and time at which a trial root became current.
    mapping(uint256 => mapping(uint256 => uint256)) public rootSeq;
    mapping(uint256 => mapping(uint256 => uint256)) public rootTime;
    /// @notice Leaf index + 1 of a commitment in a trial (0: absent), for provers.
    mapping(uint256 => mapping(uint256 => uint256)) public indexPlusOne;

    uint256[DEPTH + 1] private _zeros;
    /// @dev Non-empty nodes per trial: key = level << 32 | index.
    mapping(uint256 => mapping(uint256 => uint256)) private _nodes;

    /// @param providers_ the ProviderRegistry (sponsors must be verified there)
    /// @param poseidonSource the CredentialRegistry whose Poseidon hasher is reused
    /// @param verifier_ the TrialEnrolmentVerifier
    constructor(address providers_, address poseidonSource, address verifier_) {
        if (providers_ == address(0) || poseidonSource == address(0) || verifier_ == address(0)) {
            revert ZeroAddress();
        }
        providers = ICredentialAuthorities(providers_);
        poseidon2 = IPoseidonSource(poseidonSource).poseidon2();
        verifier = ITrialEnrolmentVerifier(verifier_);
        uint256 z = 0;
        for (uint256 i = 0; i < DEPTH; i++) {
            z = poseidon2.poseidon([z, z]);
            _zeros[i + 1] = z;
        }
    }

    modifier onlySponsor(uint256 trialId) {
        if (trials[trialId].sponsor != msg.sender) revert NotSponsor(trialId);
        if (!providers.isVerified(msg.sender)) revert NotVerified(msg.sender);
        _;
    }

    /// @notice Create a trial. The caller (a verified provider) becomes its sponsor.
    /// @param metaHash hash of the protocol / eligibility criteria, kept off chain
    /// @return trialId the new trial's id (the nullifier scope of its enrolments)
    function createTrial(bytes32 metaHash) external returns (uint256 trialId) {
        if (!providers.isVerified(msg.sender)) revert NotVerified(msg.sender);
        trialId = ++trialCount;
        Trial storage t = trials[trialId];
        t.sponsor = msg.sender;
        t.metaHash = metaHash;
        _setRoot(trialId, t, _zeros[DEPTH]);
        emit TrialCreated(trialId, msg.sender, metaHash);
    }

    /// @notice Add an eligible patient's identity commitment. Sponsor only.
    /// @param trialId the trial
    /// @param idCommitment Poseidon(secret) from the patient (below the field order, not 0)
    /// @return index the leaf index
    function addParticipant(uint256 trialId, uint256 idCommitment)
        external
        onlySponsor(trialId)
        returns (uint256 index)
    {
        Trial storage t = trials[trialId];
        if (t.closed) revert TrialClosed(trialId);
        if (idCommitment == 0 || idCommitment >= SNARK_FIELD) revert InvalidCommitment();
        if (indexPlusOne[trialId][idCommitment] != 0) revert InvalidCommitment();
        index = t.nextIndex;
        if (index >= (1 << DEPTH)) revert TreeFull();
        t.nextIndex = index + 1;
        indexPlusOne[trialId][idCommitment] = index + 1;
        _setRoot(trialId, t, _update(trialId, index, idCommitment));
        emit ParticipantAdded(trialId, index, idCommitment);
    }

    /// @notice Remove a participant (no longer eligible): its leaf becomes 0 and every
    ///         earlier root of the trial stops being accepted. Sponsor only.
    /// @param trialId the trial
    /// @param index the leaf index
    /// @param reasonHash salted hash of the reason, kept off chain
    function removeParticipant(uint256 trialId, uint256 index, bytes32 reasonHash) external onlySponsor(trialId) {
        Trial storage t = trials[trialId];
        if (index >= t.nextIndex) revert UnknownParticipant(index);
        if (_nodes[trialId][index] == 0) revert AlreadyRemoved(index);
        _setRoot(trialId, t, _update(trialId, index, 0));
        t.revokedBefore = t.seq;
        emit ParticipantRemoved(trialId, index, reasonHash);
    }

    /// @notice Close enrolment. Sponsor only.
    /// @param trialId the trial
    function closeTrial(uint256 trialId) external onlySponsor(trialId) {
        trials[trialId].closed = true;
        emit TrialClosedBySponsor(trialId);
    }

    /// @notice Enrol anonymously: prove membership of your commitment in the trial's tree.
    ///         The proof is bound to msg.sender; one enrolment per patient per trial.
    /// @param trialId the trial
    /// @param proof the Groth16 proof
    /// @param root the trial root the proof was made against
    /// @param nullifier Poseidon(trialId, secret), the proof's output
    function enrol(uint256 trialId, uint256[8] calldata proof, uint256 root, uint256 nullifier) external {
        Trial storage t = trials[trialId];
        if (t.sponsor == address(0)) revert UnknownTrial(trialId);
        if (t.closed) revert TrialClosed(trialId);
        if (!providers.isVerified(t.sponsor)) revert NotVerified(t.sponsor);
        if (!isValidRoot(trialId, root)) revert UnknownRoot(root);
        if (nullifierUsed[trialId][nullifier]) revert NullifierUsed(nullifier);
        uint256[4] memory pub = [nullifier, root, trialId, uint256(uint160(msg.sender))];
        if (
            !verifier.verifyProof(
                [proof[0], proof[1]], [[proof[2], proof[3]], [proof[4], proof[5]]], [proof[6], proof[7]], pub
            )
        ) revert InvalidProof();
        nullifierUsed[trialId][nullifier] = true;
        t.enrolled += 1;
        emit Enrolled(trialId, nullifier, msg.sender);
    }

    /// @notice Whether proofs against this root of the trial are accepted now: the current
    ///         root, or one superseded less than ROOT_TTL ago by insertions only.
    /// @param trialId the trial
    /// @param r the root
    /// @return true if acceptable
    function isValidRoot(uint256 trialId, uint256 r) public view returns (bool) {
        Trial storage t = trials[trialId];
        if (t.sponsor == address(0)) return false;
        if (r == t.root) return true;
        uint256 s = rootSeq[trialId][r];
        return s != 0 && s >= t.revokedBefore && block.timestamp <= rootTime[trialId][r] + ROOT_TTL;
    }

    /// @notice Current root of a trial's eligibility tree (0 for an unknown trial).
    /// @param trialId the trial
    /// @return the root
    function rootOf(uint256 trialId) external view returns (uint256) {
        return trials[trialId].root;
    }

    /// @notice Authentication path of a leaf (query your own node: asking tells which leaf).
    /// @param trialId the trial
    /// @param index the leaf index
    /// @return path the sibling at each level, leaf level first
    function siblings(uint256 trialId, uint256 index) external view returns (uint256[DEPTH] memory path) {
        for (uint256 level = 0; level < DEPTH; level++) {
            path[level] = _node(trialId, level, (index >> level) ^ 1);
        }
    }

    /// @notice The leaf at an index (0 for empty or removed).
    /// @param trialId the trial
    /// @param index the leaf index
    /// @return the leaf value
    function leaf(uint256 trialId, uint256 index) external view returns (uint256) {
        return _node(trialId, 0, index);
    }

    function _node(uint256 trialId, uint256 level, uint256 index) private view returns (uint256) {
        uint256 v = _nodes[trialId][(level << 32) | index];
        return v != 0 ? v : _zeros[level];
    }

    function _update(uint256 trialId, uint256 index, uint256 value) private returns (uint256 node) {
        mapping(uint256 => uint256) storage nodes = _nodes[trialId];
        node = value;
        nodes[index] = value;
        for (uint256 level = 0; level < DEPTH; level++) {
            uint256 sibling = _node(trialId, level, index ^ 1);
            node = (index & 1) == 0 ? poseidon2.poseidon([node, sibling]) : poseidon2.poseidon([sibling, node]);
            index >>= 1;
            nodes[((level + 1) << 32) | index] = node;
        }
    }

    function _setRoot(uint256 trialId, Trial storage t, uint256 r) private {
        t.seq += 1;
        t.root = r;
        rootSeq[trialId][r] = t.seq;
        rootTime[trialId][r] = block.timestamp;
        emit TrialRootChanged(trialId, r, t.seq);
    }
}
