// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessLevel, AuditAction, Purpose, IPatientRegistry, IAuditTrail} from "./PhrTypes.sol";

/// @title AuditTrail
/// @notice Tamper-evident access log. Every entry is an event (indexed by patient, record and
///         accessor, so it is queryable per patient and per record with eth_getLogs) and is
///         folded into a per-patient hash chain kept on chain:
///             head' = keccak256(abi.encodePacked(head, seq, accessor, recordId, time, action, purpose))
///         with seq starting at 0 and head starting at 0. A patient who replays the events
///         and arrives at headOf(patient) after countOf(patient) entries has proved that no
///         entry is missing or altered. Per record only a counter is kept.
/// @dev Writers: the wired phr contracts (with any accessor), nodes serving data (View, for
///      themselves, when the registry says they may read), and the patient's owner (Share,
///      View, for itself).
contract AuditTrail is IAuditTrail {
    struct Chain {
        bytes32 head;
        uint64 count;
    }

    error NotDeployer();
    error AlreadyWired();
    error ZeroAddress();
    error NotAuthorized();
    error ActionNotAllowed(AuditAction action);
    error WrongBatch();

    /// @notice Most entries one logViews call takes.
    uint256 public constant MAX_BATCH = 256;
    /// @notice Bytes of one packed logViews entry (patient, recordId, purpose).
    uint256 public constant ENTRY_BYTES = 53;

    event Wired(address[] modules);
    event AuditLogged(
        address indexed patient,
        uint256 indexed recordId,
        address indexed accessor,
        AuditAction action,
        Purpose purpose,
        uint64 time,
        uint64 seq,
        bytes32 head
    );

    address private immutable _deployer;
    /// @notice The patient registry used to authorise node writes.
    IPatientRegistry public immutable registry;
    /// @notice Trusted writer contracts.
    mapping(address => bool) public isModule;
    bool private _wired;
    mapping(address => Chain) private _chains;
    /// @notice Number of entries that name each record.
    mapping(uint256 => uint64) public recordEntryCount;

    /// @param registry_ the PatientRegistry
    constructor(IPatientRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        _deployer = msg.sender;
        registry = registry_;
    }

    /// @notice Name the trusted writer contracts; once, by the deployer.
    /// @param modules the PatientRegistry, HealthRecordNFT, EmergencyAccess and Recovery addresses
    function wire(address[] calldata modules) external {
        if (msg.sender != _deployer) revert NotDeployer();
        if (_wired) revert AlreadyWired();
        _wired = true;
        for (uint256 i = 0; i < modules.length; i++) {
            if (modules[i] == address(0)) revert ZeroAddress();
            isModule[modules[i]] = true;
        }
        emit Wired(modules);
    }

    /// @notice Record an entry on behalf of accessor. Wired modules only.
    /// @param patient the patient id
    /// @param recordId the record token, or 0
    /// @param accessor who acted
    /// @param action what was done
    /// @param purpose purpose-of-use code
    function record(address patient, uint256 recordId, address accessor, AuditAction action, Purpose purpose)
        external
    {
        if (!isModule[msg.sender]) revert NotAuthorized();
        _append(patient, recordId, accessor, action, purpose);
    }

    /// @notice Log an access by the caller: a node that served a record logs View (it must be
    ///         allowed to read it now); the patient's owner logs View or Share.
    /// @param patient the patient id
    /// @param recordId the record token, or 0
    /// @param action View, or Share for the patient's owner
    /// @param purpose purpose-of-use code
    function logAccess(address patient, uint256 recordId, AuditAction action, Purpose purpose) external {
        bool isOwner = registry.ownerOfPatient(patient) == msg.sender && msg.sender != address(0);
        if (action == AuditAction.Share) {
            if (!isOwner) revert NotAuthorized();
        } else if (action == AuditAction.View) {
            if (!isOwner && !registry.canAccess(msg.sender, patient, recordId, AccessLevel.Read)) {
                revert NotAuthorized();
            }
        } else {
            revert ActionNotAllowed(action);
        }
        _append(patient, recordId, msg.sender, action, purpose);
    }

    /// @notice Log several Views by the caller in one transaction: a node that served many reads
    ///         in a short interval logs them together. Every entry is checked as
    ///         logAccess(View) checks it and appended in order; if any entry is not allowed the
    ///         whole call reverts (the node then logs the entries one by one).
    /// @param entries packed entries of ENTRY_BYTES each:
    ///        abi.encodePacked(address patient, uint256 recordId, uint8 purpose)
    function logViews(bytes calldata entries) external {
        uint256 n = entries.length / ENTRY_BYTES;
        if (n == 0 || n * ENTRY_BYTES != entries.length || n > MAX_BATCH) revert WrongBatch();
        for (uint256 off = 0; off < entries.length; off += ENTRY_BYTES) {
            address patient = address(bytes20(entries[off:off + 20]));
            uint256 recordId = uint256(bytes32(entries[off + 20:off + 52]));
            uint8 purpose = uint8(entries[off + 52]);
            if (purpose > uint8(type(Purpose).max)) revert WrongBatch();
            if (
                registry.ownerOfPatient(patient) != msg.sender
                    && !registry.canAccess(msg.sender, patient, recordId, AccessLevel.Read)
            ) revert NotAuthorized();
            _append(patient, recordId, msg.sender, AuditAction.View, Purpose(purpose));
        }
    }

    /// @notice The head of a patient's hash chain.
    /// @param patient the patient id
    /// @return head
    function headOf(address patient) external view returns (bytes32) {
        return _chains[patient].head;
    }

    /// @notice Number of entries in a patient's chain.
    /// @param patient the patient id
    /// @return count
    function countOf(address patient) external view returns (uint64) {
        return _chains[patient].count;
    }

    /// @notice The link function of the chain, for clients that verify it.
    /// @param head previous head
    /// @param seq sequence number of the entry
    /// @param accessor who acted
    /// @param recordId record token or 0
    /// @param time block time of the entry
    /// @param action action
    /// @param purpose purpose
    /// @return next the next head
    function link(
        bytes32 head,
        uint64 seq,
        address accessor,
        uint256 recordId,
        uint64 time,
        AuditAction action,
        Purpose purpose
    ) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(head, seq, accessor, recordId, time, uint8(action), uint8(purpose)));
    }

    function _append(address patient, uint256 recordId, address accessor, AuditAction action, Purpose purpose)
        private
    {
        Chain storage c = _chains[patient];
        uint64 seq = c.count;
        uint64 time = uint64(block.timestamp);
        bytes32 head = link(c.head, seq, accessor, recordId, time, action, purpose);
        c.head = head;
        c.count = seq + 1;
        if (recordId != 0) recordEntryCount[recordId] += 1;
        emit AuditLogged(patient, recordId, accessor, action, purpose, time, seq, head);
    }
}
