// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AuditAction, Purpose, IProviderRegistry, IPatientRegistry, IEmergencyAccess, IAuditTrail} from "./PhrTypes.sol";

/// @title EmergencyAccess
/// @notice Break-glass access (seed §8). A verified emergency provider opens a session on a
///         patient for DURATION with a reason code and a salted hash of the stated reason;
///         the opening is audited and emits a notification event for the patient and for
///         each designated emergency contact. The patient's owner (or the provider) closes it
///         early. While open, PatientRegistry.canAccess grants the provider Read.
contract EmergencyAccess is IEmergencyAccess {
    struct Session {
        uint64 openedAt;
        uint64 expiresAt;
        uint8 reasonCode;
        bytes32 reasonHash;
    }

    /// @notice Length of a break-glass session.
    uint64 public constant DURATION = 24 hours;

    error ZeroAddress();
    error NotRegistered(address patient);
    error NotEmergencyProvider(address provider);
    error InvalidReason();
    error SessionActive(address patient, address provider);
    error NoActiveSession(address patient, address provider);
    error NotAuthorized();

    event EmergencyAccessOpened(
        address indexed patient, address indexed provider, uint8 reasonCode, bytes32 reasonHash, uint64 expiresAt
    );
    event EmergencyNotification(address indexed patient, address indexed recipient, address indexed provider, uint64 expiresAt);
    event EmergencyAccessClosed(address indexed patient, address indexed provider, address by);

    /// @notice The patient registry.
    IPatientRegistry public immutable registry;
    /// @notice The provider registry.
    IProviderRegistry public immutable providers;
    /// @notice The audit trail.
    IAuditTrail public immutable audit;

    mapping(address => mapping(address => Session)) private _sessions;

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

    /// @notice Open a break-glass session on patient for DURATION. Verified emergency providers only.
    /// @param patient the patient id
    /// @param reasonCode non-zero reason code (e.g. 1 unconscious, 2 trauma, 3 cardiac, 4 other)
    /// @param reasonHash salted hash of the stated reason, kept off chain
    /// @return expiresAt when the session ends
    function openEmergencyAccess(address patient, uint8 reasonCode, bytes32 reasonHash) external returns (uint64 expiresAt) {
        if (!registry.isRegistered(patient)) revert NotRegistered(patient);
        if (!providers.isEmergencyProvider(msg.sender)) revert NotEmergencyProvider(msg.sender);
        if (reasonCode == 0) revert InvalidReason();
        Session storage s = _sessions[patient][msg.sender];
        if (s.expiresAt > block.timestamp) revert SessionActive(patient, msg.sender);
        expiresAt = uint64(block.timestamp) + DURATION;
        s.openedAt = uint64(block.timestamp);
        s.expiresAt = expiresAt;
        s.reasonCode = reasonCode;
        s.reasonHash = reasonHash;
        emit EmergencyAccessOpened(patient, msg.sender, reasonCode, reasonHash, expiresAt);
        emit EmergencyNotification(patient, registry.ownerOfPatient(patient), msg.sender, expiresAt);
        address[] memory contacts = registry.emergencyContacts(patient);
        for (uint256 i = 0; i < contacts.length; i++) {
            emit EmergencyNotification(patient, contacts[i], msg.sender, expiresAt);
        }
        audit.record(patient, 0, msg.sender, AuditAction.Emergency, Purpose.Emergency);
    }

    /// @notice Close a session early. The patient's owner or the session's provider.
    /// @param patient the patient id
    /// @param provider the emergency provider
    function closeEmergencyAccess(address patient, address provider) external {
        if (msg.sender != provider && msg.sender != registry.ownerOfPatient(patient)) revert NotAuthorized();
        Session storage s = _sessions[patient][provider];
        if (s.expiresAt <= block.timestamp) revert NoActiveSession(patient, provider);
        s.expiresAt = uint64(block.timestamp);
        emit EmergencyAccessClosed(patient, provider, msg.sender);
        audit.record(patient, 0, provider, AuditAction.Revoke, Purpose.Emergency);
    }

    /// @notice Whether provider holds an open session on patient and is still a verified
    ///         emergency provider.
    /// @param patient the patient id
    /// @param provider the provider
    /// @return active
    function isActive(address patient, address provider) external view returns (bool) {
        return _sessions[patient][provider].expiresAt > block.timestamp && providers.isEmergencyProvider(provider);
    }

    /// @notice A session as stored.
    /// @param patient the patient id
    /// @param provider the provider
    /// @return s the session
    function sessionOf(address patient, address provider) external view returns (Session memory s) {
        return _sessions[patient][provider];
    }
}
