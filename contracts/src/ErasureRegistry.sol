// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPatientRegistry} from "./PhrTypes.sol";

/// @notice What ErasureRegistry reads of HealthRecordNFT.
interface IRecordInfo {
    function recordInfo(uint256 tokenId) external view returns (address patient, uint8 recordType, bool live);
}

/// @title Erasure requests (GDPR Art. 17) as crypto-shredding across the network
/// @notice The patient's owner asks for a record's erasure; every node that holds capsules or
///         blocks of it destroys them and confirms; the patient then burns the token
///         (HealthRecordNFT.burn, audited as Erase). A legal hold, set with a reason hash by
///         an appointed hold authority, blocks the request until it is released.
///         No personal data here: token ids, addresses, hashes and times.
contract ErasureRegistry {
    struct Request {
        address patient;   // the record's patient id (0: no request)
        address requester; // the owner who asked
        uint64 requestedAt;
        uint32 confirmations;
    }

    IRecordInfo public immutable nft;
    IPatientRegistry public immutable registry;
    address public immutable governance;

    mapping(address => bool) public holdAuthority;
    mapping(uint256 => Request) private _requests;
    mapping(uint256 => bytes32) public holdReason; // non-zero: under legal hold
    mapping(uint256 => mapping(address => bool)) public confirmedBy;

    event HoldAuthoritySet(address indexed who, bool on);
    event LegalHoldSet(uint256 indexed tokenId, address indexed by, bytes32 reasonHash);
    event LegalHoldReleased(uint256 indexed tokenId, address indexed by, bytes32 reasonHash);
    event ErasureRequested(uint256 indexed tokenId, address indexed patient, address requester);
    event ErasureConfirmed(uint256 indexed tokenId, address indexed node, uint32 confirmations);

    error ZeroAddress();
    error NotGovernance();
    error NotHoldAuthority(address who);
    error NotPatientOwner(address patient);
    error NoLiveRecord(uint256 tokenId);
    error UnderLegalHold(uint256 tokenId, bytes32 reasonHash);
    error NoHold(uint256 tokenId);
    error EmptyReason();
    error AlreadyRequested(uint256 tokenId);
    error NoRequest(uint256 tokenId);
    error AlreadyConfirmed(uint256 tokenId, address node);

    constructor(address nft_, address registry_, address governance_) {
        if (nft_ == address(0) || registry_ == address(0) || governance_ == address(0)) revert ZeroAddress();
        nft = IRecordInfo(nft_);
        registry = IPatientRegistry(registry_);
        governance = governance_;
        holdAuthority[governance_] = true;
        emit HoldAuthoritySet(governance_, true);
    }

    /// @notice Appoints or removes a legal-hold authority (governance only).
    function setHoldAuthority(address who, bool on) external {
        if (msg.sender != governance) revert NotGovernance();
        if (who == address(0)) revert ZeroAddress();
        holdAuthority[who] = on;
        emit HoldAuthoritySet(who, on);
    }

    /// @notice Places a legal hold on a record with the hash of its reason (authorities only).
    function setHold(uint256 tokenId, bytes32 reasonHash) external {
        if (!holdAuthority[msg.sender]) revert NotHoldAuthority(msg.sender);
        if (reasonHash == bytes32(0)) revert EmptyReason();
        holdReason[tokenId] = reasonHash;
        emit LegalHoldSet(tokenId, msg.sender, reasonHash);
    }

    /// @notice Releases a legal hold, recording the hash of the release's reason.
    function releaseHold(uint256 tokenId, bytes32 reasonHash) external {
        if (!holdAuthority[msg.sender]) revert NotHoldAuthority(msg.sender);
        if (holdReason[tokenId] == bytes32(0)) revert NoHold(tokenId);
        if (reasonHash == bytes32(0)) revert EmptyReason();
        delete holdReason[tokenId];
        emit LegalHoldReleased(tokenId, msg.sender, reasonHash);
    }

    /// @notice The patient's owner asks for the erasure of a live record.
    function request(uint256 tokenId) external {
        (address patient,, bool live) = nft.recordInfo(tokenId);
        if (!live) revert NoLiveRecord(tokenId);
        if (registry.ownerOfPatient(patient) != msg.sender) revert NotPatientOwner(patient);
        bytes32 hold = holdReason[tokenId];
        if (hold != bytes32(0)) revert UnderLegalHold(tokenId, hold);
        if (_requests[tokenId].patient != address(0)) revert AlreadyRequested(tokenId);
        _requests[tokenId] = Request(patient, msg.sender, uint64(block.timestamp), 0);
        emit ErasureRequested(tokenId, patient, msg.sender);
    }

    /// @notice A node confirms it destroyed every capsule, data key and block of the record it held.
    function confirm(uint256 tokenId) external {
        Request storage r = _requests[tokenId];
        if (r.patient == address(0)) revert NoRequest(tokenId);
        bytes32 hold = holdReason[tokenId];
        if (hold != bytes32(0)) revert UnderLegalHold(tokenId, hold);
        if (confirmedBy[tokenId][msg.sender]) revert AlreadyConfirmed(tokenId, msg.sender);
        confirmedBy[tokenId][msg.sender] = true;
        r.confirmations += 1;
        emit ErasureConfirmed(tokenId, msg.sender, r.confirmations);
    }

    /// @notice A request's state.
    function requestOf(uint256 tokenId)
        external
        view
        returns (address patient, address requester, uint64 requestedAt, uint32 confirmations, bytes32 hold)
    {
        Request storage r = _requests[tokenId];
        return (r.patient, r.requester, r.requestedAt, r.confirmations, holdReason[tokenId]);
    }
}
