// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProviderRegistry, IPatientRegistry} from "./PhrTypes.sol";

/// @title Research studies and patients' consent to them
/// @notice A verified provider (the sponsor) registers a study by an opaque id and the hash of
///         its public parameters (the homomorphic encryption key, the custodians, the value
///         range: see docs/privacy.md); patients consent until a date and may withdraw. The
///         aggregator counts a submission only while hasConsent(study, patient) holds. The
///         sponsor closes the study with the hash of the aggregate that is then decrypted, and
///         later publishes the hash of the result. No topic, description or value is on chain.
contract StudyRegistry {
    struct Study {
        address sponsor;
        bytes32 paramsHash;
        uint64 createdAt;
        uint64 closedAt;
        bytes32 aggregateHash;
        bytes32 resultHash;
    }

    error ZeroAddress();
    error ProviderNotVerified(address sponsor);
    error StudyExists(bytes32 id);
    error NoStudy(bytes32 id);
    error StudyClosed(bytes32 id);
    error StudyOpen(bytes32 id);
    error NotSponsor(bytes32 id);
    error NotPatientOwner(address patient);
    error InvalidExpiry();
    error InvalidHash();
    error NoConsent(bytes32 id, address patient);

    event StudyCreated(bytes32 indexed id, address indexed sponsor, bytes32 paramsHash);
    event ConsentGiven(bytes32 indexed id, address indexed patient, uint64 until, address by);
    event ConsentWithdrawn(bytes32 indexed id, address indexed patient, address by);
    event StudyClosedForDecryption(bytes32 indexed id, bytes32 aggregateHash);
    event ResultPublished(bytes32 indexed id, bytes32 resultHash);

    IPatientRegistry public immutable registry;
    IProviderRegistry public immutable providers;

    mapping(bytes32 => Study) private _studies;
    mapping(bytes32 => mapping(address => uint64)) private _consentUntil;

    constructor(IPatientRegistry registry_, IProviderRegistry providers_) {
        if (address(registry_) == address(0) || address(providers_) == address(0)) revert ZeroAddress();
        registry = registry_;
        providers = providers_;
    }

    /// @notice Register a study; the caller (a verified provider) becomes its sponsor.
    /// @param id opaque study id (e.g. keccak256 of the study's name)
    /// @param paramsHash keccak256 of the study's public parameters
    function createStudy(bytes32 id, bytes32 paramsHash) external {
        if (!providers.isVerified(msg.sender)) revert ProviderNotVerified(msg.sender);
        if (paramsHash == bytes32(0)) revert InvalidHash();
        if (_studies[id].sponsor != address(0)) revert StudyExists(id);
        _studies[id] = Study({
            sponsor: msg.sender,
            paramsHash: paramsHash,
            createdAt: uint64(block.timestamp),
            closedAt: 0,
            aggregateHash: bytes32(0),
            resultHash: bytes32(0)
        });
        emit StudyCreated(id, msg.sender, paramsHash);
    }

    /// @notice The patient's owner consents to the study until a date (replacing an earlier consent).
    /// @param id the study
    /// @param patient the patient id
    /// @param until end of the consent (seconds since the epoch, in the future)
    function consent(bytes32 id, address patient, uint64 until) external {
        _open(id);
        _onlyOwner(patient);
        if (until <= block.timestamp) revert InvalidExpiry();
        _consentUntil[id][patient] = until;
        emit ConsentGiven(id, patient, until, msg.sender);
    }

    /// @notice The patient's owner withdraws consent; submissions stop counting at once.
    /// @param id the study
    /// @param patient the patient id
    function withdraw(bytes32 id, address patient) external {
        if (_studies[id].sponsor == address(0)) revert NoStudy(id);
        _onlyOwner(patient);
        if (_consentUntil[id][patient] == 0) revert NoConsent(id, patient);
        delete _consentUntil[id][patient];
        emit ConsentWithdrawn(id, patient, msg.sender);
    }

    /// @notice The sponsor stops submissions and fixes the aggregate to be decrypted.
    /// @param id the study
    /// @param aggregateHash keccak256 of the aggregate's canonical JSON
    function close(bytes32 id, bytes32 aggregateHash) external {
        Study storage s = _open(id);
        if (s.sponsor != msg.sender) revert NotSponsor(id);
        if (aggregateHash == bytes32(0)) revert InvalidHash();
        s.closedAt = uint64(block.timestamp);
        s.aggregateHash = aggregateHash;
        emit StudyClosedForDecryption(id, aggregateHash);
    }

    /// @notice The sponsor publishes the hash of the decrypted result of a closed study.
    /// @param id the study
    /// @param resultHash keccak256 of the result's canonical JSON
    function publishResult(bytes32 id, bytes32 resultHash) external {
        Study storage s = _studies[id];
        if (s.sponsor == address(0)) revert NoStudy(id);
        if (s.closedAt == 0) revert StudyOpen(id);
        if (s.sponsor != msg.sender) revert NotSponsor(id);
        if (resultHash == bytes32(0)) revert InvalidHash();
        s.resultHash = resultHash;
        emit ResultPublished(id, resultHash);
    }

    /// @notice Whether a submission of patient to the study counts now: open study, consent unexpired.
    /// @param id the study
    /// @param patient the patient id
    /// @return ok
    function hasConsent(bytes32 id, address patient) external view returns (bool) {
        Study storage s = _studies[id];
        return s.sponsor != address(0) && s.closedAt == 0 && _consentUntil[id][patient] > block.timestamp;
    }

    /// @notice When the patient's consent ends (0: none).
    /// @param id the study
    /// @param patient the patient id
    /// @return until
    function consentUntil(bytes32 id, address patient) external view returns (uint64) {
        return _consentUntil[id][patient];
    }

    /// @notice A study's record (reverts for an unknown id).
    /// @param id the study
    /// @return s the study
    function studyOf(bytes32 id) external view returns (Study memory s) {
        s = _studies[id];
        if (s.sponsor == address(0)) revert NoStudy(id);
    }

    function _open(bytes32 id) private view returns (Study storage s) {
        s = _studies[id];
        if (s.sponsor == address(0)) revert NoStudy(id);
        if (s.closedAt != 0) revert StudyClosed(id);
    }

    function _onlyOwner(address patient) private view {
        if (registry.ownerOfPatient(patient) != msg.sender) revert NotPatientOwner(patient);
    }
}
