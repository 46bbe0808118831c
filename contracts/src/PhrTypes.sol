// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Shared types and interfaces of the phr contracts
/// @notice Nothing in these contracts carries health data: only addresses, CIDs of
///         ciphertext, salted hashes, type codes and timestamps.

/// @notice Access levels a patient grants to a provider (seed §2.2).
enum AccessLevel {
    None,
    Read,
    Write,
    Admin
}

/// @notice Record types. 1..4 are the health-milestone types of seed §5.1.
enum RecordType {
    General,
    Vaccination,
    MajorProcedure,
    ChronicConditionAchievement,
    PreventiveCare,
    LabResult,
    Imaging,
    Prescription,
    ClinicalNote,
    EmergencySummary
}

/// @notice Audit actions.
enum AuditAction {
    View,
    Create,
    Update,
    Share,
    Emergency,
    Revoke,
    Erase,
    Recover
}

/// @notice Purpose-of-use codes (no free text on chain).
enum Purpose {
    Unspecified,
    Treatment,
    Payment,
    Operations,
    Emergency,
    Research,
    PatientRequest,
    Legal
}

/// @notice Provider registry as seen by the other contracts.
interface IProviderRegistry {
    /// @notice Whether provider is a verified provider now (active, licence unexpired, authority appointed).
    function isVerified(address provider) external view returns (bool);
    /// @notice Whether provider is a verified emergency provider now.
    function isEmergencyProvider(address provider) external view returns (bool);
}

/// @notice Patient registry as seen by the other contracts.
interface IPatientRegistry {
    /// @notice Whether patient is registered.
    function isRegistered(address patient) external view returns (bool);
    /// @notice The current owner address of a patient (0 if unregistered).
    function ownerOfPatient(address patient) external view returns (address);
    /// @notice The patient id controlled by owner (0 if none).
    function patientOf(address owner) external view returns (address);
    /// @notice The record token contract (0 until wired).
    function nft() external view returns (IHealthRecordNFT);
    /// @notice May accessor act at level on record recordId (0: the patient as a whole) of patient now?
    function canAccess(address accessor, address patient, uint256 recordId, AccessLevel level)
        external
        view
        returns (bool);
    /// @notice The time until which canAccess stays true while the state is unchanged (0: never,
    ///         type(uint64).max: no expiry): canAccess == (accessUntil > block.timestamp).
    function accessUntil(address accessor, address patient, uint256 recordId, AccessLevel level)
        external
        view
        returns (uint64);
    /// @notice May accessor mint a new record of type rtype for patient now?
    function canWriteType(address accessor, address patient, RecordType rtype) external view returns (bool);
    /// @notice Is patient registered, and does accessor hold an active Write grant on all of its
    ///         records or on rtype's category (whether or not accessor is verified)?
    function writeGrant(address accessor, address patient, RecordType rtype)
        external
        view
        returns (bool registered, bool granted);
    /// @notice The patient's designated emergency contacts.
    function emergencyContacts(address patient) external view returns (address[] memory);
    /// @notice Rotate a patient's owner address (Recovery only).
    function rotateOwner(address patient, address newOwner) external;
}

/// @notice Record token as seen by the other contracts.
interface IHealthRecordNFT {
    /// @notice Patient, type and liveness of a record token (never reverts).
    function recordInfo(uint256 tokenId) external view returns (address patient, RecordType recordType, bool live);
}

/// @notice Emergency sessions as seen by the other contracts.
interface IEmergencyAccess {
    /// @notice Whether provider holds an open break-glass session on patient.
    function isActive(address patient, address provider) external view returns (bool);
}

/// @notice Audit trail as seen by the other contracts.
interface IAuditTrail {
    /// @notice Append an audit entry on behalf of accessor (wired contracts only).
    function record(address patient, uint256 recordId, address accessor, AuditAction action, Purpose purpose)
        external;
}
