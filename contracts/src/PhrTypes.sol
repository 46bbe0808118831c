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
    function isVerified(address provider) external view returns (bool);
    function isEmergencyProvider(address provider) external view returns (bool);
}

/// @notice Patient registry as seen by the other contracts.
interface IPatientRegistry {
    function isRegistered(address patient) external view returns (bool);
    function ownerOfPatient(address patient) external view returns (address);
    function patientOf(address owner) external view returns (address);
    function canAccess(address accessor, address patient, uint256 recordId, AccessLevel level)
        external
        view
        returns (bool);
    function canWriteType(address accessor, address patient, RecordType rtype) external view returns (bool);
    function emergencyContacts(address patient) external view returns (address[] memory);
    function rotateOwner(address patient, address newOwner) external;
}

/// @notice Record token as seen by the other contracts.
interface IHealthRecordNFT {
    function recordInfo(uint256 tokenId) external view returns (address patient, RecordType recordType, bool live);
}

/// @notice Emergency sessions as seen by the other contracts.
interface IEmergencyAccess {
    function isActive(address patient, address provider) external view returns (bool);
}

/// @notice Audit trail as seen by the other contracts.
interface IAuditTrail {
    function record(address patient, uint256 recordId, address accessor, AuditAction action, Purpose purpose)
        external;
}
