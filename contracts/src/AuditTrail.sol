// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessLevel, AuditAction, Purpose, IPatientRegistry, IHealthRecordNFT, IAuditTrail} from "./PhrTypes.sol";

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
    /// logViews: the caller owns the patient / may read all of it (canAccess with record 0) /
    /// neither.
    uint256 private constant OWNER = 1;
    uint256 private constant WHOLE = 2;
    uint256 private constant NONE = 3;

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
    /// @dev The patient-level answers cannot change during the call (only this contract's
    ///      storage is written; block.timestamp is fixed), so they are asked once per run of
    ///      entries of the same patient: whether the caller is its owner (then every entry is
    ///      allowed) with the run's first entry, which is checked as logAccess checks it; from
    ///      the second entry on, canAccess(caller, patient, 0, Read). When that holds and the
    ///      caller is not the owner, it holds through an emergency session or a grant on all
    ///      records, so canAccess(caller, patient, recordId, Read) is exactly "record 0, or
    ///      recordId is live and the patient's" (HealthRecordNFT.recordInfo); otherwise
    ///      canAccess is asked per entry.
    /// @param entries packed entries of ENTRY_BYTES each:
    ///        abi.encodePacked(address patient, uint256 recordId, uint8 purpose)
    function logViews(bytes calldata entries) external {
        uint256 n = entries.length / ENTRY_BYTES;
        if (n == 0 || n * ENTRY_BYTES != entries.length || n > MAX_BATCH) revert WrongBatch();
        address known; // the patient of the previous entry
        uint256 access; // for known: OWNER, WHOLE, NONE, or 0 (not asked yet)
        IHealthRecordNFT nft; // registry.nft(), asked when first needed
        for (uint256 off = 0; off < entries.length; off += ENTRY_BYTES) {
            address patient = address(bytes20(entries[off:off + 20]));
            uint256 recordId = uint256(bytes32(entries[off + 20:off + 52]));
            uint8 purpose = uint8(entries[off + 52]);
            if (purpose > uint8(type(Purpose).max)) revert WrongBatch();
            bool ok;
            if (patient != known || patient == address(0)) {
                // the first entry of a run: checked as logAccess checks it
                known = patient;
                access = registry.ownerOfPatient(patient) == msg.sender ? OWNER : 0;
                ok = access == OWNER || registry.canAccess(msg.sender, patient, recordId, AccessLevel.Read);
            } else {
                if (access == 0) {
                    access = registry.canAccess(msg.sender, patient, 0, AccessLevel.Read) ? WHOLE : NONE;
                }
                if (access == OWNER || (access == WHOLE && recordId == 0)) {
                    ok = true;
                } else if (access == WHOLE) {
                    if (address(nft) == address(0)) nft = registry.nft();
                    (address rp,, bool live) = nft.recordInfo(recordId);
                    ok = live && rp == patient;
                } else {
                    ok = registry.canAccess(msg.sender, patient, recordId, AccessLevel.Read);
                }
            }
            if (!ok) revert NotAuthorized();
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
