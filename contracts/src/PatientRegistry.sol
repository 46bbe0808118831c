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
    IEmergencyAccess,
    IAuditTrail
} from "./PhrTypes.sol";

/// @dev What accessUntil reads of ProviderRegistry: the stored fields isVerified and
///      isEmergencyProvider compare with block.timestamp (status is the Status enum as uint8).
interface IProviderStanding {
    function providerInfo(address provider)
        external
        view
        returns (uint8 status, uint8 roles, uint64 licenceExpiry, address authority, bytes32 licenceHash);
    function isAuthority(address authority) external view returns (bool);
}

/// @dev What accessUntil reads of EmergencyAccess: the stored session isActive compares with
///      block.timestamp (EmergencyAccess.Session as a tuple).
interface IEmergencySessions {
    function sessionOf(address patient, address provider)
        external
        view
        returns (uint64 openedAt, uint64 expiresAt, uint8 reasonCode, bytes32 reasonHash);
}

/// @title PatientRegistry
/// @notice Patients, their X25519 encryption keys, provider access grants (level, scope,
///         expiry), access requests, emergency contacts, and the access-decision view that
///         every node consults before serving data.
/// @dev A patient is identified by the address it registered with (its "patient id"); the
///      controlling "owner" address starts equal to it and can be rotated by Recovery. Record
///      tokens belong to the patient id, so they never move.
///      Scopes are bytes32: 0 = all records; (1 << 248) | recordType = one category;
///      (2 << 248) | tokenId = one record.
contract PatientRegistry is IPatientRegistry {
    struct Patient {
        address owner;
        uint64 registeredAt;
        bytes32 encryptionKey;
        address[] contacts;
    }

    struct Grant {
        AccessLevel level;
        uint64 expiry;
        address grantor;
    }

    enum RequestStatus {
        None,
        Pending,
        Approved,
        Denied,
        Cancelled
    }

    struct Request {
        address provider;
        AccessLevel level;
        Purpose purpose;
        RequestStatus status;
        uint64 duration;
        uint64 expiresAt;
        address patient;
        bytes32 scope;
    }

    /// @notice Longest grant a request can ask for.
    uint64 public constant MAX_REQUEST_DURATION = 365 days;
    /// @notice How long a request stays open for the patient to answer.
    uint64 public constant REQUEST_TTL = 7 days;
    /// @notice Most emergency contacts per patient.
    uint256 public constant MAX_CONTACTS = 5;
    uint256 private constant SCOPE_KIND_SHIFT = 248;
    /// ProviderRegistry's Status.Active, ROLE_PROVIDER and ROLE_EMERGENCY (accessUntil)
    uint8 private constant PROVIDER_ACTIVE = 1;
    uint8 private constant ROLE_PROVIDER = 1;
    uint8 private constant ROLE_EMERGENCY = 2;

    error NotDeployer();
    error AlreadyWired();
    error NotWired();
    error ZeroAddress();
    error AlreadyRegistered(address account);
    error NotRegistered(address patient);
    error NotPatientOwner(address patient);
    error NotAuthorized();
    error OwnerTaken(address account);
    error InvalidKey();
    error InvalidLevel();
    error InvalidScope(bytes32 scope);
    error InvalidExpiry();
    error InvalidDuration();
    error InvalidPurpose();
    error TooManyContacts();
    error ProviderNotVerified(address provider);
    error NoGrant(address provider, bytes32 scope);
    error GrantExpired(address provider, bytes32 scope);
    error UnknownRequest(uint256 id);
    error RequestNotPending(uint256 id);
    error RequestExpired(uint256 id);
    error RequestAlreadyOpen(uint256 id);
    error NotRecovery();

    event Wired(address nft, address emergency, address recovery, address audit);
    event PatientRegistered(address indexed patient, bytes32 encryptionKey);
    event EncryptionKeyUpdated(address indexed patient, bytes32 encryptionKey);
    event OwnerRotated(address indexed patient, address indexed previousOwner, address indexed newOwner);
    event EmergencyContactsSet(address indexed patient, address[] contacts);
    event AccessGranted(
        address indexed patient, address indexed provider, bytes32 indexed scope, AccessLevel level, uint64 expiry, address grantor
    );
    event AccessRevoked(address indexed patient, address indexed provider, bytes32 indexed scope, address by);
    event AccessExtended(address indexed patient, address indexed provider, bytes32 indexed scope, uint64 expiry);
    event AccessRequested(
        uint256 indexed id,
        address indexed patient,
        address indexed provider,
        AccessLevel level,
        bytes32 scope,
        Purpose purpose,
        uint64 duration
    );
    event RequestApproved(uint256 indexed id, address indexed patient, address indexed provider, uint64 expiry);
    event RequestDenied(uint256 indexed id, address indexed patient, address indexed provider);
    event RequestCancelled(uint256 indexed id, address indexed patient, address indexed provider);

    address private immutable _deployer;
    /// @notice The provider registry consulted for verification.
    IProviderRegistry public immutable providers;
    /// @notice Wired companion contracts (set once).
    IHealthRecordNFT public nft;
    IEmergencyAccess public emergency;
    address public recovery;
    IAuditTrail public audit;

    mapping(address => Patient) private _patients;
    /// @notice Patient id controlled by an owner address (0 if none).
    mapping(address => address) public patientOf;
    mapping(address => mapping(address => mapping(bytes32 => Grant))) private _grants;
    Request[] private _requests;
    /// @notice Open request id + 1 per patient and provider (0 if none).
    mapping(address => mapping(address => uint256)) public openRequest;

    /// @param providers_ the ProviderRegistry
    constructor(IProviderRegistry providers_) {
        if (address(providers_) == address(0)) revert ZeroAddress();
        _deployer = msg.sender;
        providers = providers_;
    }

    /// @notice Connect the companion contracts; once, by the deployer.
    /// @param nft_ HealthRecordNFT
    /// @param emergency_ EmergencyAccess
    /// @param recovery_ Recovery
    /// @param audit_ AuditTrail
    function wire(IHealthRecordNFT nft_, IEmergencyAccess emergency_, address recovery_, IAuditTrail audit_) external {
        if (msg.sender != _deployer) revert NotDeployer();
        if (address(nft) != address(0)) revert AlreadyWired();
        if (
            address(nft_) == address(0) || address(emergency_) == address(0) || recovery_ == address(0)
                || address(audit_) == address(0)
        ) revert ZeroAddress();
        nft = nft_;
        emergency = emergency_;
        recovery = recovery_;
        audit = audit_;
        emit Wired(address(nft_), address(emergency_), recovery_, address(audit_));
    }

    // ------------------------------------------------------------------ patients

    /// @notice Register the caller as a patient with its X25519 public key.
    /// @param encryptionKey the patient's X25519 public key (32 bytes, non-zero)
    function register(bytes32 encryptionKey) external {
        if (encryptionKey == bytes32(0)) revert InvalidKey();
        if (_patients[msg.sender].owner != address(0) || patientOf[msg.sender] != address(0)) {
            revert AlreadyRegistered(msg.sender);
        }
        Patient storage p = _patients[msg.sender];
        p.owner = msg.sender;
        p.registeredAt = uint64(block.timestamp);
        p.encryptionKey = encryptionKey;
        patientOf[msg.sender] = msg.sender;
        emit PatientRegistered(msg.sender, encryptionKey);
    }

    /// @notice Replace the patient's encryption key. Patient owner only.
    /// @param patient the patient id
    /// @param encryptionKey the new X25519 public key
    function updateEncryptionKey(address patient, bytes32 encryptionKey) external {
        _onlyOwner(patient);
        if (encryptionKey == bytes32(0)) revert InvalidKey();
        _patients[patient].encryptionKey = encryptionKey;
        emit EncryptionKeyUpdated(patient, encryptionKey);
    }

    /// @notice Set the designated emergency contacts (replaces the list). Patient owner only.
    /// @param patient the patient id
    /// @param contacts up to MAX_CONTACTS non-zero addresses
    function setEmergencyContacts(address patient, address[] calldata contacts) external {
        _onlyOwner(patient);
        if (contacts.length > MAX_CONTACTS) revert TooManyContacts();
        for (uint256 i = 0; i < contacts.length; i++) {
            if (contacts[i] == address(0)) revert ZeroAddress();
        }
        _patients[patient].contacts = contacts;
        emit EmergencyContactsSet(patient, contacts);
    }

    /// @notice Rotate the owner address of a patient. Recovery contract only.
    /// @param patient the patient id
    /// @param newOwner the new owner; must not control another patient
    function rotateOwner(address patient, address newOwner) external {
        if (msg.sender != recovery) revert NotRecovery();
        Patient storage p = _patients[patient];
        if (p.owner == address(0)) revert NotRegistered(patient);
        if (newOwner == address(0)) revert ZeroAddress();
        if (patientOf[newOwner] != address(0)) revert OwnerTaken(newOwner);
        address previous = p.owner;
        delete patientOf[previous];
        patientOf[newOwner] = patient;
        p.owner = newOwner;
        emit OwnerRotated(patient, previous, newOwner);
    }

    /// @notice Whether patient is registered.
    /// @param patient the patient id
    /// @return registered
    function isRegistered(address patient) external view returns (bool) {
        return _patients[patient].owner != address(0);
    }

    /// @notice The current owner address of a patient (0 if unregistered).
    /// @param patient the patient id
    /// @return owner
    function ownerOfPatient(address patient) external view returns (address) {
        return _patients[patient].owner;
    }

    /// @notice A patient's registration.
    /// @param patient the patient id
    /// @return owner current owner address
    /// @return encryptionKey X25519 public key
    /// @return registeredAt registration time
    function patientInfo(address patient)
        external
        view
        returns (address owner, bytes32 encryptionKey, uint64 registeredAt)
    {
        Patient storage p = _patients[patient];
        return (p.owner, p.encryptionKey, p.registeredAt);
    }

    /// @notice The designated emergency contacts.
    /// @param patient the patient id
    /// @return contacts
    function emergencyContacts(address patient) external view returns (address[] memory) {
        return _patients[patient].contacts;
    }

    // ------------------------------------------------------------------ grants

    /// @notice Grant (or replace) a provider's access. Patient owner, or a provider holding an
    ///         active Admin grant on all records (it may grant Read or Write only, and may not
    ///         replace an Admin grant).
    /// @param patient the patient id
    /// @param provider a verified provider
    /// @param level Read, Write or Admin
    /// @param scope 0 (all), category scope or record scope
    /// @param expiry unix time the grant ends (future)
    function grantAccess(address patient, address provider, AccessLevel level, bytes32 scope, uint64 expiry)
        external
    {
        AccessLevel existing = _grants[patient][provider][scope].level;
        _onlyManager(patient, existing > level ? existing : level);
        _grant(patient, provider, level, scope, expiry, msg.sender);
    }

    /// @notice Revoke a provider's access on a scope. Patient owner or an Admin delegate (which
    ///         cannot revoke Admin grants).
    /// @param patient the patient id
    /// @param provider the provider
    /// @param scope the scope granted
    function revokeAccess(address patient, address provider, bytes32 scope) external {
        Grant storage g = _grants[patient][provider][scope];
        if (g.level == AccessLevel.None) revert NoGrant(provider, scope);
        _onlyManager(patient, g.level);
        delete _grants[patient][provider][scope];
        emit AccessRevoked(patient, provider, scope, msg.sender);
        _audit(patient, _scopeRecord(scope), provider, AuditAction.Revoke, Purpose.PatientRequest);
    }

    /// @notice Move the expiry of an active grant later. Patient owner or an Admin delegate.
    /// @param patient the patient id
    /// @param provider the provider
    /// @param scope the scope granted
    /// @param expiry the new expiry, later than the current one
    function extendAccess(address patient, address provider, bytes32 scope, uint64 expiry) external {
        Grant storage g = _grants[patient][provider][scope];
        if (g.level == AccessLevel.None) revert NoGrant(provider, scope);
        _onlyManager(patient, g.level);
        if (g.expiry <= block.timestamp) revert GrantExpired(provider, scope);
        if (expiry <= g.expiry) revert InvalidExpiry();
        g.expiry = expiry;
        emit AccessExtended(patient, provider, scope, expiry);
    }

    /// @notice A grant as stored (it may be expired).
    /// @param patient the patient id
    /// @param provider the provider
    /// @param scope the scope
    /// @return level access level
    /// @return expiry expiry time
    /// @return grantor who granted it
    function grantOf(address patient, address provider, bytes32 scope)
        external
        view
        returns (AccessLevel level, uint64 expiry, address grantor)
    {
        Grant storage g = _grants[patient][provider][scope];
        return (g.level, g.expiry, g.grantor);
    }

    /// @notice May accessor act at level on record recordId of patient now? recordId 0 asks about
    ///         the patient as a whole (e.g. minting a new record). True for the patient's owner;
    ///         for a verified provider with an active grant of at least level on all records, on
    ///         the record's category or on the record; and, for Read, for a verified emergency
    ///         provider with an open break-glass session.
    /// @param accessor who wants access
    /// @param patient the patient id
    /// @param recordId a token id of the patient, or 0
    /// @param level the level needed (Read, Write or Admin)
    /// @return allowed
    function canAccess(address accessor, address patient, uint256 recordId, AccessLevel level)
        public
        view
        returns (bool)
    {
        Patient storage p = _patients[patient];
        if (p.owner == address(0) || level == AccessLevel.None) return false;
        RecordType rtype = RecordType.General;
        if (recordId != 0) {
            (address rp, RecordType rt, bool live) = nft.recordInfo(recordId);
            if (!live || rp != patient) return false;
            rtype = rt;
        }
        if (accessor == p.owner) return true;
        if (level == AccessLevel.Read && emergency.isActive(patient, accessor)) return true;
        if (!providers.isVerified(accessor)) return false;
        mapping(bytes32 => Grant) storage gs = _grants[patient][accessor];
        if (_ok(gs[bytes32(0)], level)) return true;
        if (recordId == 0) return false;
        if (_ok(gs[scopeCategory(rtype)], level)) return true;
        return _ok(gs[scopeRecord(recordId)], level);
    }

    /// @notice canAccess without the clock: the time until which canAccess(accessor, patient,
    ///         recordId, level) stays true while no state changes, so that
    ///         canAccess(...) == (accessUntil(...) > block.timestamp) at every timestamp. It never
    ///         reads block.timestamp, so an eth_call memo can keep its answer until a grant, an
    ///         emergency session, a provider or a record changes; the caller compares it with
    ///         the timestamp (blockTimestamp() gives the one an eth_call sees).
    /// @param accessor who wants access
    /// @param patient the patient id
    /// @param recordId a token id of the patient, or 0
    /// @param level the level needed (Read, Write or Admin)
    /// @return until 0 when denied at every time; type(uint64).max for the patient's owner (no
    ///         expiry); else the latest of the emergency session's end (Read only) and the
    ///         grants' expiries, each capped by the provider's licence expiry
    function accessUntil(address accessor, address patient, uint256 recordId, AccessLevel level)
        external
        view
        returns (uint64 until)
    {
        Patient storage p = _patients[patient];
        if (p.owner == address(0) || level == AccessLevel.None) return 0;
        RecordType rtype = RecordType.General;
        if (recordId != 0) {
            (address rp, RecordType rt, bool live) = nft.recordInfo(recordId);
            if (!live || rp != patient) return 0;
            rtype = rt;
        }
        if (accessor == p.owner) return type(uint64).max;
        // the same contracts as canAccess, asked in the same order (same reverts when unwired)
        uint64 sessionEnd = 0;
        if (level == AccessLevel.Read) {
            (, sessionEnd,,) = IEmergencySessions(address(emergency)).sessionOf(patient, accessor);
        }
        (uint8 roles, uint64 licenceEnd) = _standing(accessor);
        if ((roles & ROLE_EMERGENCY) != 0) until = _min(sessionEnd, licenceEnd);
        if ((roles & ROLE_PROVIDER) != 0) {
            until = _max(until, _min(_grantsUntil(patient, accessor, recordId, rtype, level), licenceEnd));
        }
    }

    /// @notice The timestamp of the block this call runs in: what canAccess compares the
    ///         expiries with, and so what accessUntil's answer is to be compared with.
    /// @return timestamp block.timestamp
    function blockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }

    /// @notice May accessor write a new record of type rtype for patient now (grant on all
    ///         records or on the category)?
    /// @param accessor the provider
    /// @param patient the patient id
    /// @param rtype the record type
    /// @return allowed
    function canWriteType(address accessor, address patient, RecordType rtype) external view returns (bool) {
        Patient storage p = _patients[patient];
        if (p.owner == address(0)) return false;
        if (!providers.isVerified(accessor)) return false;
        mapping(bytes32 => Grant) storage gs = _grants[patient][accessor];
        return _ok(gs[bytes32(0)], AccessLevel.Write) || _ok(gs[scopeCategory(rtype)], AccessLevel.Write);
    }

    /// @notice canWriteType in parts, for a caller that checks the accessor's verification
    ///         itself (HealthRecordNFT.mintRecords asks it once per call): canWriteType is
    ///         registered && providers.isVerified(accessor) && granted.
    /// @param accessor the provider
    /// @param patient the patient id
    /// @param rtype the record type
    /// @return registered whether patient is registered
    /// @return granted whether accessor holds an active Write grant on all of patient's records
    ///         or on rtype's category (false when patient is not registered)
    function writeGrant(address accessor, address patient, RecordType rtype)
        external
        view
        returns (bool registered, bool granted)
    {
        if (_patients[patient].owner == address(0)) return (false, false);
        mapping(bytes32 => Grant) storage gs = _grants[patient][accessor];
        return (true, _ok(gs[bytes32(0)], AccessLevel.Write) || _ok(gs[scopeCategory(rtype)], AccessLevel.Write));
    }

    /// @notice The scope covering one record category.
    /// @param rtype the record type
    /// @return scope
    function scopeCategory(RecordType rtype) public pure returns (bytes32) {
        return bytes32((uint256(1) << SCOPE_KIND_SHIFT) | uint256(rtype));
    }

    /// @notice The scope covering one record.
    /// @param tokenId the record token
    /// @return scope
    function scopeRecord(uint256 tokenId) public pure returns (bytes32) {
        return bytes32((uint256(2) << SCOPE_KIND_SHIFT) | tokenId);
    }

    // ------------------------------------------------------------------ requests

    /// @notice A verified provider asks a patient for access; one open request per pair.
    /// @param patient the patient id
    /// @param purpose purpose-of-use code
    /// @param duration grant length asked for, 1 s .. MAX_REQUEST_DURATION
    /// @param level Read, Write or Admin
    /// @param scope the scope asked for
    /// @return id the request id
    function requestAccess(address patient, Purpose purpose, uint64 duration, AccessLevel level, bytes32 scope)
        external
        returns (uint256 id)
    {
        if (_patients[patient].owner == address(0)) revert NotRegistered(patient);
        if (!providers.isVerified(msg.sender)) revert ProviderNotVerified(msg.sender);
        if (level == AccessLevel.None) revert InvalidLevel();
        if (purpose == Purpose.Unspecified) revert InvalidPurpose();
        if (duration == 0 || duration > MAX_REQUEST_DURATION) revert InvalidDuration();
        _checkScope(scope);
        uint256 open = openRequest[patient][msg.sender];
        if (open != 0) {
            Request storage prev = _requests[open - 1];
            // an unanswered request blocks a new one until its TTL runs out (anti-spam)
            if (prev.expiresAt > block.timestamp) revert RequestAlreadyOpen(open - 1);
        }
        id = _requests.length;
        _requests.push(
            Request({
                provider: msg.sender,
                level: level,
                purpose: purpose,
                status: RequestStatus.Pending,
                duration: duration,
                expiresAt: uint64(block.timestamp) + REQUEST_TTL,
                patient: patient,
                scope: scope
            })
        );
        openRequest[patient][msg.sender] = id + 1;
        emit AccessRequested(id, patient, msg.sender, level, scope, purpose, duration);
    }

    /// @notice Approve a pending request: grants the level on the scope for the asked duration
    ///         from now. Patient owner only.
    /// @param id the request id
    function approveRequest(uint256 id) external {
        Request storage r = _answerable(id);
        r.status = RequestStatus.Approved;
        delete openRequest[r.patient][r.provider];
        uint64 expiry = uint64(block.timestamp) + r.duration;
        emit RequestApproved(id, r.patient, r.provider, expiry);
        _grant(r.patient, r.provider, r.level, r.scope, expiry, msg.sender);
    }

    /// @notice Deny a pending request. Patient owner only.
    /// @param id the request id
    function denyRequest(uint256 id) external {
        Request storage r = _answerable(id);
        r.status = RequestStatus.Denied;
        delete openRequest[r.patient][r.provider];
        emit RequestDenied(id, r.patient, r.provider);
    }

    /// @notice Withdraw one's own pending request. Requesting provider only.
    /// @param id the request id
    function cancelRequest(uint256 id) external {
        if (id >= _requests.length) revert UnknownRequest(id);
        Request storage r = _requests[id];
        if (r.provider != msg.sender) revert NotAuthorized();
        if (r.status != RequestStatus.Pending) revert RequestNotPending(id);
        r.status = RequestStatus.Cancelled;
        delete openRequest[r.patient][r.provider];
        emit RequestCancelled(id, r.patient, r.provider);
    }

    /// @notice A request.
    /// @param id the request id
    /// @return r the request
    function requestInfo(uint256 id) external view returns (Request memory r) {
        if (id >= _requests.length) revert UnknownRequest(id);
        return _requests[id];
    }

    /// @notice Number of requests ever made.
    /// @return count
    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    // ------------------------------------------------------------------ internals

    function _answerable(uint256 id) private view returns (Request storage r) {
        if (id >= _requests.length) revert UnknownRequest(id);
        r = _requests[id];
        _onlyOwner(r.patient);
        if (r.status != RequestStatus.Pending) revert RequestNotPending(id);
        if (r.expiresAt <= block.timestamp) revert RequestExpired(id);
    }

    function _grant(address patient, address provider, AccessLevel level, bytes32 scope, uint64 expiry, address by)
        private
    {
        if (level == AccessLevel.None) revert InvalidLevel();
        if (expiry <= block.timestamp) revert InvalidExpiry();
        _checkScope(scope);
        if (!providers.isVerified(provider)) revert ProviderNotVerified(provider);
        _grants[patient][provider][scope] = Grant({level: level, expiry: expiry, grantor: by});
        emit AccessGranted(patient, provider, scope, level, expiry, by);
        _audit(patient, _scopeRecord(scope), provider, AuditAction.Share, Purpose.PatientRequest);
    }

    function _onlyOwner(address patient) private view {
        address o = _patients[patient].owner;
        if (o == address(0)) revert NotRegistered(patient);
        if (o != msg.sender) revert NotPatientOwner(patient);
    }

    /// Owner, or an active verified Admin delegate acting on a level below Admin.
    function _onlyManager(address patient, AccessLevel level) private view {
        address o = _patients[patient].owner;
        if (o == address(0)) revert NotRegistered(patient);
        if (o == msg.sender) return;
        if (level != AccessLevel.Admin && _ok(_grants[patient][msg.sender][bytes32(0)], AccessLevel.Admin)
            && providers.isVerified(msg.sender)) return;
        revert NotPatientOwner(patient);
    }

    function _ok(Grant storage g, AccessLevel level) private view returns (bool) {
        return uint8(g.level) >= uint8(level) && g.expiry > block.timestamp;
    }

    /// The roles of a provider in good standing (active, its authority appointed; 0 otherwise)
    /// and its licence expiry: isVerified / isEmergencyProvider without the clock.
    function _standing(address provider) private view returns (uint8 roles, uint64 licenceEnd) {
        IProviderStanding ps = IProviderStanding(address(providers));
        (uint8 status, uint8 r, uint64 licence, address authority,) = ps.providerInfo(provider);
        if (status != PROVIDER_ACTIVE || !ps.isAuthority(authority)) return (0, 0);
        return (r, licence);
    }

    /// The latest expiry of accessor's grants of at least level on all of patient's records,
    /// and with a record, on its category or on it (canAccess's grant checks without the clock).
    function _grantsUntil(address patient, address accessor, uint256 recordId, RecordType rtype, AccessLevel level)
        private
        view
        returns (uint64 g)
    {
        mapping(bytes32 => Grant) storage gs = _grants[patient][accessor];
        g = _until(gs[bytes32(0)], level);
        if (recordId != 0) {
            g = _max(g, _max(_until(gs[scopeCategory(rtype)], level), _until(gs[scopeRecord(recordId)], level)));
        }
    }

    /// The expiry of g when it is of at least level (0 otherwise): _ok(g, level) is
    /// _until(g, level) > block.timestamp.
    function _until(Grant storage g, AccessLevel level) private view returns (uint64) {
        return uint8(g.level) >= uint8(level) ? g.expiry : 0;
    }

    function _min(uint64 a, uint64 b) private pure returns (uint64) {
        return a < b ? a : b;
    }

    function _max(uint64 a, uint64 b) private pure returns (uint64) {
        return a > b ? a : b;
    }

    function _checkScope(bytes32 scope) private pure {
        uint256 kind = uint256(scope) >> SCOPE_KIND_SHIFT;
        uint256 value = uint256(scope) & ((uint256(1) << SCOPE_KIND_SHIFT) - 1);
        if (kind == 0 && value == 0) return;
        if (kind == 1 && value <= uint256(type(RecordType).max)) return;
        if (kind == 2 && value != 0) return;
        revert InvalidScope(scope);
    }

    function _scopeRecord(bytes32 scope) private pure returns (uint256) {
        return (uint256(scope) >> SCOPE_KIND_SHIFT) == 2
            ? uint256(scope) & ((uint256(1) << SCOPE_KIND_SHIFT) - 1)
            : 0;
    }

    function _audit(address patient, uint256 recordId, address accessor, AuditAction action, Purpose purpose) private {
        if (address(audit) == address(0)) revert NotWired();
        audit.record(patient, recordId, accessor, action, purpose);
    }
}
