// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AuditAction, Purpose, IPatientRegistry, IAuditTrail} from "./PhrTypes.sol";

/// @title Recovery
/// @notice Social recovery of a patient's owner address (seed §9). The patient's owner names
///         up to MAX_GUARDIANS guardians and a threshold M. Each guardian votes once per round
///         for a new owner; when one candidate reaches M votes a time lock of TIMELOCK starts,
///         during which the current owner can cancel. After it, anyone executes the rotation.
///         Every execution, cancellation and guardian change starts a new round, so votes of
///         an earlier round can never be counted again (no replay).
contract Recovery {
    struct Config {
        uint8 threshold;
        uint64 round;
        address[] guardians;
    }

    struct Pending {
        address newOwner;
        uint64 readyAt;
    }

    /// @notice Most guardians per patient.
    uint256 public constant MAX_GUARDIANS = 10;
    /// @notice Time between reaching the threshold and the rotation.
    uint64 public constant TIMELOCK = 2 days;
    /// @notice A scheduled rotation not executed this long after it became ready lapses, and
    ///         the next vote opens a new round (so a rotation that cannot execute never blocks
    ///         recovery for good).
    uint64 public constant EXECUTION_WINDOW = 7 days;

    error ZeroAddress();
    error NotRegistered(address patient);
    error NotPatientOwner(address patient);
    error InvalidGuardians();
    error InvalidThreshold();
    error NotGuardian(address patient, address account);
    error AlreadyApproved(address patient, uint64 round);
    error RecoveryAlreadyScheduled(address patient);
    error NoRecoveryScheduled(address patient);
    error RecoveryTimelocked(address patient, uint64 readyAt);
    error RecoveryLapsed(address patient);
    error CandidateTaken(address candidate);

    event GuardiansSet(address indexed patient, address[] guardians, uint8 threshold, uint64 round);
    event RecoveryApproved(
        address indexed patient, address indexed guardian, address indexed newOwner, uint64 round, uint256 votes
    );
    event RecoveryScheduled(address indexed patient, address indexed newOwner, uint64 round, uint64 readyAt);
    event RecoveryCancelled(address indexed patient, uint64 round);
    event RecoveryExecuted(address indexed patient, address indexed newOwner, uint64 round);
    event RecoveryScheduleLapsed(address indexed patient, uint64 round);

    /// @notice The patient registry.
    IPatientRegistry public immutable registry;
    /// @notice The audit trail.
    IAuditTrail public immutable audit;

    mapping(address => Config) private _configs;
    mapping(address => mapping(address => bool)) private _isGuardian;
    mapping(address => Pending) private _pending;
    /// patient => round => guardian => voted
    mapping(address => mapping(uint64 => mapping(address => bool))) private _voted;
    /// keccak(patient, round, candidate) => votes
    mapping(bytes32 => uint256) private _votes;

    /// @param registry_ PatientRegistry
    /// @param audit_ AuditTrail
    constructor(IPatientRegistry registry_, IAuditTrail audit_) {
        if (address(registry_) == address(0) || address(audit_) == address(0)) revert ZeroAddress();
        registry = registry_;
        audit = audit_;
    }

    /// @notice Replace the guardians and threshold; starts a new round (pending votes and any
    ///         scheduled recovery are dropped). Patient owner only.
    /// @param patient the patient id
    /// @param guardians 1..MAX_GUARDIANS distinct non-zero addresses, not the owner
    /// @param threshold 1..guardians.length
    function setGuardians(address patient, address[] calldata guardians, uint8 threshold) external {
        address owner = _onlyOwner(patient);
        if (guardians.length == 0 || guardians.length > MAX_GUARDIANS) revert InvalidGuardians();
        if (threshold == 0 || threshold > guardians.length) revert InvalidThreshold();
        Config storage c = _configs[patient];
        for (uint256 i = 0; i < c.guardians.length; i++) {
            _isGuardian[patient][c.guardians[i]] = false;
        }
        for (uint256 i = 0; i < guardians.length; i++) {
            address g = guardians[i];
            if (g == address(0) || g == owner || _isGuardian[patient][g]) revert InvalidGuardians();
            _isGuardian[patient][g] = true;
        }
        c.guardians = guardians;
        c.threshold = threshold;
        c.round += 1;
        delete _pending[patient];
        emit GuardiansSet(patient, guardians, threshold, c.round);
    }

    /// @notice Vote, as a guardian, for newOwner in the current round. When a candidate reaches
    ///         the threshold its rotation is scheduled TIMELOCK from now. A candidate that
    ///         already controls a patient is refused. A vote after a scheduled rotation lapsed
    ///         (EXECUTION_WINDOW after it became ready) opens a new round.
    /// @param patient the patient id
    /// @param newOwner the proposed owner address
    function approveRecovery(address patient, address newOwner) external {
        if (!_isGuardian[patient][msg.sender]) revert NotGuardian(patient, msg.sender);
        if (newOwner == address(0)) revert ZeroAddress();
        if (registry.patientOf(newOwner) != address(0)) revert CandidateTaken(newOwner);
        Config storage c = _configs[patient];
        uint64 readyAt0 = _pending[patient].readyAt;
        if (readyAt0 != 0) {
            if (block.timestamp < uint256(readyAt0) + EXECUTION_WINDOW) revert RecoveryAlreadyScheduled(patient);
            // the scheduled rotation lapsed: start a new round
            emit RecoveryScheduleLapsed(patient, c.round);
            c.round += 1;
            delete _pending[patient];
        }
        uint64 round = c.round;
        if (_voted[patient][round][msg.sender]) revert AlreadyApproved(patient, round);
        _voted[patient][round][msg.sender] = true;
        uint256 votes = ++_votes[keccak256(abi.encode(patient, round, newOwner))];
        emit RecoveryApproved(patient, msg.sender, newOwner, round, votes);
        if (votes >= c.threshold) {
            uint64 readyAt = uint64(block.timestamp) + TIMELOCK;
            _pending[patient] = Pending({newOwner: newOwner, readyAt: readyAt});
            emit RecoveryScheduled(patient, newOwner, round, readyAt);
        }
    }

    /// @notice Cancel the current round (votes and any scheduled rotation). Patient owner only.
    /// @param patient the patient id
    function cancelRecovery(address patient) external {
        _onlyOwner(patient);
        Config storage c = _configs[patient];
        emit RecoveryCancelled(patient, c.round);
        c.round += 1;
        delete _pending[patient];
    }

    /// @notice Carry out a scheduled rotation once its time lock has passed and before it
    ///         lapses. Anyone.
    /// @param patient the patient id
    function executeRecovery(address patient) external {
        Pending memory p = _pending[patient];
        if (p.readyAt == 0) revert NoRecoveryScheduled(patient);
        if (block.timestamp < p.readyAt) revert RecoveryTimelocked(patient, p.readyAt);
        if (block.timestamp >= uint256(p.readyAt) + EXECUTION_WINDOW) revert RecoveryLapsed(patient);
        Config storage c = _configs[patient];
        uint64 round = c.round;
        c.round = round + 1;
        delete _pending[patient];
        registry.rotateOwner(patient, p.newOwner);
        emit RecoveryExecuted(patient, p.newOwner, round);
        audit.record(patient, 0, p.newOwner, AuditAction.Recover, Purpose.PatientRequest);
    }

    /// @notice A patient's guardians, threshold and current round.
    /// @param patient the patient id
    /// @return guardians the guardians
    /// @return threshold votes needed
    /// @return round the current round
    function guardiansOf(address patient)
        external
        view
        returns (address[] memory guardians, uint8 threshold, uint64 round)
    {
        Config storage c = _configs[patient];
        return (c.guardians, c.threshold, c.round);
    }

    /// @notice The scheduled rotation, if any.
    /// @param patient the patient id
    /// @return newOwner the candidate (0 if none)
    /// @return readyAt when it can execute (0 if none)
    function pendingOf(address patient) external view returns (address newOwner, uint64 readyAt) {
        Pending storage p = _pending[patient];
        return (p.newOwner, p.readyAt);
    }

    /// @notice Votes a candidate has in the current round.
    /// @param patient the patient id
    /// @param newOwner the candidate
    /// @return votes
    function votesFor(address patient, address newOwner) external view returns (uint256) {
        return _votes[keccak256(abi.encode(patient, _configs[patient].round, newOwner))];
    }

    function _onlyOwner(address patient) private view returns (address owner) {
        owner = registry.ownerOfPatient(patient);
        if (owner == address(0)) revert NotRegistered(patient);
        if (owner != msg.sender) revert NotPatientOwner(patient);
    }
}
