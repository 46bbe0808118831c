// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {
    AccessLevel,
    AuditAction,
    Purpose,
    RecordType,
    IProviderRegistry,
    IPatientRegistry,
    IHealthRecordNFT,
    IAuditTrail
} from "./PhrTypes.sol";

/// @title HealthRecordNFT
/// @notice One soulbound token per record version, owned by the patient id (ERC-721 with
///         ERC-5192 "locked" and ERC-165). A verified provider with Write access mints it;
///         an amendment is a new token whose `supersedes` names the previous version. The
///         token stores only a salted hash of the plaintext, the CID of the encrypted
///         metadata object and a type code; tokenURI is ipfs://<cid>. The patient burns a
///         token to erase a record (crypto-shredding happens off chain).
/// @dev Every transfer and approval reverts (ERC-5192: locked tokens must not move). Minting
///      never calls onERC721Received, so no code of the recipient runs.
contract HealthRecordNFT is IHealthRecordNFT {
    struct Record {
        address patient;
        RecordType recordType;
        uint64 createdAt;
        address provider;
        uint256 supersedes;
        uint256 supersededBy;
        bytes32 dataHash;
        string cid;
    }

    /// How a record is kept: 4 + ceil(L / 32) slots for a CID of L bytes, written once each by
    /// a mint: patient, type, time and CID length share one; provider and the superseded
    /// token (an existing token id, so below 2^96) another; the successor (set by an
    /// amendment); the hash; then the CID's bytes, zero-padded. (A Record with a string
    /// took 5 slots, plus 1 + ceil(L / 32) for a CID over 31 bytes, and two more writes of
    /// zeros.)
    struct Stored {
        address patient;
        RecordType recordType;
        uint64 createdAt;
        uint8 cidLength;
        address provider;
        uint96 supersedes;
        uint256 supersededBy;
        bytes32 dataHash;
        bytes32[4] cid;
    }

    uint256 private constant MAX_CID_LENGTH = 128; // Stored.cid: 4 words
    /// @notice Most records one mintRecords call takes. (64 was measured on 2026-11-25: under 64
    ///         concurrent FHIR creates the node's mint groups average 24 records either way, so
    ///         the cap is not what limits a group; 32 keeps a call's gas near 5M.)
    uint256 public constant MAX_MINT_BATCH = 32;
    /// Bytes of a mintRecords entry before its CID: patient, dataHash, type, supersedes, CID length.
    uint256 private constant ENTRY_HEAD = 20 + 32 + 1 + 32 + 1;
    /// mintRecords: the bit of its cache that says msg.sender was found verified.
    uint256 private constant VERIFIED = 1 << 255;

    error ZeroAddress();
    error NonexistentToken(uint256 tokenId);
    error TokenLocked(uint256 tokenId);
    error NotRegistered(address patient);
    error ProviderNotVerified(address provider);
    error NoWriteAccess(address provider, address patient);
    error InvalidDataHash();
    error InvalidCid();
    error AlreadySuperseded(uint256 tokenId, uint256 by);
    error WrongPatient(uint256 tokenId);
    error TypeMismatch(uint256 tokenId);
    error NotPatientOwner(address patient);
    error WrongBatch();

    /// ERC-721
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    /// ERC-5192
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);
    /// phr
    event RecordMinted(
        uint256 indexed tokenId,
        address indexed patient,
        address indexed provider,
        RecordType recordType,
        bytes32 dataHash,
        string cid,
        uint256 supersedes
    );
    event RecordSuperseded(uint256 indexed oldTokenId, uint256 indexed newTokenId);
    event RecordBurned(uint256 indexed tokenId, address indexed patient);

    /// @notice The registry of patients and grants.
    IPatientRegistry public immutable registry;
    /// @notice The registry of providers.
    IProviderRegistry public immutable providers;
    /// @notice The audit trail.
    IAuditTrail public immutable audit;
    /// @notice Number of tokens ever minted (ids run 1..totalMinted).
    uint256 public totalMinted;

    mapping(uint256 => Stored) private _records;
    mapping(address => uint256) private _balances;

    /// @param registry_ PatientRegistry
    /// @param providers_ ProviderRegistry
    /// @param audit_ AuditTrail
    constructor(IPatientRegistry registry_, IProviderRegistry providers_, IAuditTrail audit_) {
        if (address(registry_) == address(0) || address(providers_) == address(0) || address(audit_) == address(0)) {
            revert ZeroAddress();
        }
        registry = registry_;
        providers = providers_;
        audit = audit_;
    }

    // ------------------------------------------------------------------ phr

    /// @notice Mint a record token to a patient. The caller must be a verified provider with an
    ///         active Write grant on all records or on the type's category; for an amendment
    ///         (supersedes != 0), Write on the superseded record, which must be the patient's,
    ///         live, not yet superseded and of the same type.
    /// @param patient the patient id
    /// @param dataHash salted hash of the plaintext record (non-zero)
    /// @param cid CID of the encrypted metadata object (1..128 alphanumeric characters)
    /// @param recordType the record type (1..4 are milestones)
    /// @param supersedes the token this one amends, or 0
    /// @return tokenId the new token
    function mintRecord(address patient, bytes32 dataHash, string calldata cid, RecordType recordType, uint256 supersedes)
        external
        returns (uint256 tokenId)
    {
        if (!registry.isRegistered(patient)) revert NotRegistered(patient);
        if (!providers.isVerified(msg.sender)) revert ProviderNotVerified(msg.sender);
        _checkEntry(dataHash, bytes(cid));
        if (supersedes == 0) {
            if (!registry.canWriteType(msg.sender, patient, recordType)) revert NoWriteAccess(msg.sender, patient);
        } else {
            _checkAmend(patient, recordType, supersedes);
        }
        return _mint(patient, dataHash, bytes(cid), recordType, supersedes);
    }

    /// @notice Mint several records in one transaction, each with the checks, effects and events
    ///         of mintRecord, in order; all or nothing (one failing record reverts the call with
    ///         its error). Token ids are consecutive, from the returned one.
    /// @dev The registry answers that cannot change during the call (nothing it calls writes
    ///      the registries and block.timestamp is fixed) are asked once: isVerified(msg.sender)
    ///      at the first entry; registration and the Write grant on a type together
    ///      (registry.writeGrant: canWriteType is registered && verified && granted) at the
    ///      first entry of each run of the same patient and at the first entry of each further
    ///      type in the run. A failing entry still fails with the error mintRecord would give it.
    /// @param entries 1..MAX_MINT_BATCH entries, each: patient (20 bytes), dataHash (32),
    ///        recordType (1), supersedes (32, big-endian), CID length L (1), CID (L bytes)
    /// @return firstTokenId the token of the first entry
    function mintRecords(bytes calldata entries) external returns (uint256 firstTokenId) {
        uint256 n = 0;
        uint256 off = 0;
        address known; // the patient of the previous entry, found registered
        // bit t: writeGrant(msg.sender, known, t) was asked; bit 16 + t: it said granted;
        // bit VERIFIED: isVerified(msg.sender) said yes
        uint256 seen;
        while (off < entries.length) {
            if (n == MAX_MINT_BATCH || entries.length - off < ENTRY_HEAD) revert WrongBatch();
            address patient = address(bytes20(entries[off:off + 20]));
            uint256 t = uint8(entries[off + 52]);
            uint256 supersedes = uint256(bytes32(entries[off + 53:off + 85]));
            uint256 len = uint8(entries[off + 85]);
            if (t > uint8(type(RecordType).max) || entries.length - off - ENTRY_HEAD < len) revert WrongBatch();
            if (patient != known || patient == address(0)) {
                (bool registered, bool g) = registry.writeGrant(msg.sender, patient, RecordType(t));
                if (!registered) revert NotRegistered(patient);
                known = patient;
                seen = (seen & VERIFIED) | (1 << t) | (g ? 1 << (16 + t) : 0);
            }
            if (seen & VERIFIED == 0) {
                if (!providers.isVerified(msg.sender)) revert ProviderNotVerified(msg.sender);
                seen |= VERIFIED;
            }
            bytes calldata cid = entries[off + ENTRY_HEAD:off + ENTRY_HEAD + len];
            _checkEntry(bytes32(entries[off + 20:off + 52]), cid);
            if (supersedes == 0) {
                if (seen & (1 << t) == 0) {
                    (, bool g) = registry.writeGrant(msg.sender, patient, RecordType(t));
                    seen |= (1 << t) | (g ? 1 << (16 + t) : 0);
                }
                if (seen & (1 << (16 + t)) == 0) revert NoWriteAccess(msg.sender, patient);
            } else {
                _checkAmend(patient, RecordType(t), supersedes);
            }
            uint256 id = _mint(patient, bytes32(entries[off + 20:off + 52]), cid, RecordType(t), supersedes);
            if (n == 0) firstTokenId = id;
            off += ENTRY_HEAD + len;
            n++;
        }
        if (n == 0) revert WrongBatch();
    }

    /// The checks of an entry that need no call, after the registration and verification
    /// checks and before the write-access one.
    function _checkEntry(bytes32 dataHash, bytes calldata cid) private pure {
        if (dataHash == bytes32(0)) revert InvalidDataHash();
        _checkCid(cid);
    }

    /// An amendment's checks: the superseded record is the patient's, live, not yet
    /// superseded, of the same type, and the caller may write it.
    function _checkAmend(address patient, RecordType recordType, uint256 supersedes) private view {
        Stored storage old = _records[supersedes];
        if (old.patient == address(0)) revert NonexistentToken(supersedes);
        if (old.patient != patient) revert WrongPatient(supersedes);
        if (old.supersededBy != 0) revert AlreadySuperseded(supersedes, old.supersededBy);
        if (old.recordType != recordType) revert TypeMismatch(supersedes);
        if (!registry.canAccess(msg.sender, patient, supersedes, AccessLevel.Write)) {
            revert NoWriteAccess(msg.sender, patient);
        }
    }

    /// The effects and events of a checked entry.
    function _mint(address patient, bytes32 dataHash, bytes calldata cid, RecordType recordType, uint256 supersedes)
        private
        returns (uint256 tokenId)
    {
        tokenId = ++totalMinted;
        _store(_records[tokenId], patient, dataHash, cid, recordType, supersedes);
        _balances[patient] += 1;
        emit Transfer(address(0), patient, tokenId);
        emit Locked(tokenId);
        emit RecordMinted(tokenId, patient, msg.sender, recordType, dataHash, string(cid), supersedes);
        if (supersedes != 0) {
            _records[supersedes].supersededBy = tokenId;
            emit RecordSuperseded(supersedes, tokenId);
            audit.record(patient, tokenId, msg.sender, AuditAction.Update, Purpose.Treatment);
        } else {
            audit.record(patient, tokenId, msg.sender, AuditAction.Create, Purpose.Treatment);
        }
    }

    /// Writes a new record's slots (see Stored): one SSTORE per non-zero word. The CID was
    /// checked (1..MAX_CID_LENGTH bytes); bytes past its end in its last word are zeroed.
    function _store(
        Stored storage r,
        address patient,
        bytes32 dataHash,
        bytes calldata cid,
        RecordType recordType,
        uint256 supersedes
    ) private {
        uint256 head = uint256(uint160(patient)) | (uint256(recordType) << 160)
            | (uint256(uint64(block.timestamp)) << 168) | (cid.length << 232);
        uint256 who = uint256(uint160(msg.sender)) | (uint256(uint96(supersedes)) << 160);
        assembly ("memory-safe") {
            let slot := r.slot
            sstore(slot, head)
            sstore(add(slot, 1), who)
            sstore(add(slot, 3), dataHash)
            let len := cid.length
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                let w := calldataload(add(cid.offset, i))
                let rest := sub(len, i)
                if lt(rest, 32) { w := and(w, shl(shl(3, sub(32, rest)), not(0))) }
                sstore(add(add(slot, 4), shr(5, i)), w)
            }
        }
    }

    /// The CID of a stored record.
    function _cidOf(Stored storage r) private view returns (string memory cid) {
        uint256 len = r.cidLength;
        cid = new string(len);
        assembly ("memory-safe") {
            let slot := add(r.slot, 4)
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                mstore(add(add(cid, 32), i), sload(add(slot, shr(5, i))))
            }
        }
    }

    /// @notice Burn a record token for erasure; the patient's owner only. Clears the hash and
    ///         CID from current state; the audit trail logs Erase.
    /// @param tokenId the token
    function burn(uint256 tokenId) external {
        Stored storage r = _records[tokenId];
        address patient = r.patient;
        if (patient == address(0)) revert NonexistentToken(tokenId);
        if (registry.ownerOfPatient(patient) != msg.sender) revert NotPatientOwner(patient);
        delete _records[tokenId];
        _balances[patient] -= 1;
        emit Transfer(patient, address(0), tokenId);
        emit RecordBurned(tokenId, patient);
        audit.record(patient, tokenId, msg.sender, AuditAction.Erase, Purpose.PatientRequest);
    }

    /// @notice A record's on-chain fields.
    /// @param tokenId the token
    /// @return r the record
    function recordOf(uint256 tokenId) external view returns (Record memory r) {
        Stored storage s = _records[tokenId];
        if (s.patient == address(0)) revert NonexistentToken(tokenId);
        r = Record({
            patient: s.patient,
            recordType: s.recordType,
            createdAt: s.createdAt,
            provider: s.provider,
            supersedes: s.supersedes,
            supersededBy: s.supersededBy,
            dataHash: s.dataHash,
            cid: _cidOf(s)
        });
    }

    /// @notice Patient, type and liveness of a token (no revert; for access checks).
    /// @param tokenId the token
    /// @return patient the patient id (0 if not live)
    /// @return recordType the type
    /// @return live whether the token exists
    function recordInfo(uint256 tokenId) external view returns (address patient, RecordType recordType, bool live) {
        Stored storage r = _records[tokenId];
        return (r.patient, r.recordType, r.patient != address(0));
    }

    /// @notice Whether a token is a health milestone (vaccination, major procedure,
    ///         chronic-condition achievement, preventive care).
    /// @param tokenId the token
    /// @return milestone
    function isMilestone(uint256 tokenId) external view returns (bool) {
        Stored storage r = _records[tokenId];
        if (r.patient == address(0)) revert NonexistentToken(tokenId);
        return r.recordType >= RecordType.Vaccination && r.recordType <= RecordType.PreventiveCare;
    }

    // ------------------------------------------------------------------ ERC-721 / 5192 / 165

    /// @notice ERC-721 metadata name.
    /// @return name
    function name() external pure returns (string memory) {
        return "PHR Health Record";
    }

    /// @notice ERC-721 metadata symbol.
    /// @return symbol
    function symbol() external pure returns (string memory) {
        return "PHR";
    }

    /// @notice ipfs://<cid> of the encrypted metadata object.
    /// @param tokenId the token
    /// @return uri
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        Stored storage r = _records[tokenId];
        if (r.patient == address(0)) revert NonexistentToken(tokenId);
        return string.concat("ipfs://", _cidOf(r));
    }

    /// @notice Tokens held by a patient id.
    /// @param owner the patient id
    /// @return balance
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ZeroAddress();
        return _balances[owner];
    }

    /// @notice The patient id that holds a token.
    /// @param tokenId the token
    /// @return owner
    function ownerOf(uint256 tokenId) external view returns (address) {
        address p = _records[tokenId].patient;
        if (p == address(0)) revert NonexistentToken(tokenId);
        return p;
    }

    /// @notice ERC-5192: every token is locked.
    /// @param tokenId the token
    /// @return true
    function locked(uint256 tokenId) external view returns (bool) {
        if (_records[tokenId].patient == address(0)) revert NonexistentToken(tokenId);
        return true;
    }

    /// @notice Always reverts: tokens are locked.
    /// @param tokenId the token
    function transferFrom(address, address, uint256 tokenId) external pure {
        revert TokenLocked(tokenId);
    }

    /// @notice Always reverts: tokens are locked.
    /// @param tokenId the token
    function safeTransferFrom(address, address, uint256 tokenId) external pure {
        revert TokenLocked(tokenId);
    }

    /// @notice Always reverts: tokens are locked.
    /// @param tokenId the token
    function safeTransferFrom(address, address, uint256 tokenId, bytes calldata) external pure {
        revert TokenLocked(tokenId);
    }

    /// @notice Always reverts: locked tokens have no use for approvals.
    /// @param tokenId the token
    function approve(address, uint256 tokenId) external pure {
        revert TokenLocked(tokenId);
    }

    /// @notice Always reverts: locked tokens have no use for operators.
    function setApprovalForAll(address, bool) external pure {
        revert TokenLocked(0);
    }

    /// @notice Nobody is ever approved.
    /// @param tokenId the token
    /// @return zero address
    function getApproved(uint256 tokenId) external view returns (address) {
        if (_records[tokenId].patient == address(0)) revert NonexistentToken(tokenId);
        return address(0);
    }

    /// @notice Nobody is ever an operator.
    /// @return false
    function isApprovedForAll(address, address) external pure returns (bool) {
        return false;
    }

    /// @notice ERC-165.
    /// @param interfaceId the interface id
    /// @return whether supported (ERC-165, ERC-721, ERC-721 Metadata, ERC-5192)
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd || interfaceId == 0x5b5e139f
            || interfaceId == 0xb45a3c0e;
    }

    // ------------------------------------------------------------------ internals

    /// 1..MAX_CID_LENGTH bytes, each an ASCII letter or digit. Checked 32 bytes at a time: in
    /// a word whose bytes are all below 0x80, adding (0x80 - lo) to every byte sets a byte's
    /// top bit exactly when it is >= lo, adding (0x7f - hi) exactly when it is > hi, and no
    /// byte carries into the next; bytes past the end are replaced by "0".
    function _checkCid(bytes calldata b) private pure {
        uint256 len = b.length;
        if (len == 0 || len > MAX_CID_LENGTH) revert InvalidCid();
        uint256 bad;
        assembly ("memory-safe") {
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let top := mul(ones, 0x80)
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                let w := calldataload(add(b.offset, i))
                let rest := sub(len, i)
                if lt(rest, 32) {
                    let keep := shl(shl(3, sub(32, rest)), not(0))
                    w := or(and(w, keep), and(mul(ones, 0x30), not(keep)))
                }
                let digit := and(add(w, mul(ones, 0x50)), not(add(w, mul(ones, 0x46))))
                let upper := and(add(w, mul(ones, 0x3f)), not(add(w, mul(ones, 0x25))))
                let lower := and(add(w, mul(ones, 0x1f)), not(add(w, mul(ones, 0x05))))
                bad := or(bad, or(and(w, top), xor(and(or(or(digit, upper), lower), top), top)))
            }
        }
        if (bad != 0) revert InvalidCid();
    }
}
