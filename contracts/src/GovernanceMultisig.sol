// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title GovernanceMultisig
/// @notice A small M-of-N multisig that governs the ProviderRegistry (it appoints and removes
///         credentialing authorities). Any owner proposes a call; owners confirm; once the
///         threshold is met any owner executes it exactly once. The owner set is fixed at
///         deployment; to change it, the multisig hands governance to a new multisig through
///         ProviderRegistry.setGovernance.
contract GovernanceMultisig {
    struct Proposal {
        address target;
        bool executed;
        uint32 confirmations;
        bytes data;
    }

    error NotOwner();
    error InvalidOwners();
    error InvalidThreshold();
    error UnknownProposal(uint256 id);
    error AlreadyConfirmed(uint256 id);
    error NotConfirmed(uint256 id);
    error AlreadyExecuted(uint256 id);
    error ThresholdNotMet(uint256 id);
    error CallFailed(uint256 id, bytes reason);

    event Proposed(uint256 indexed id, address indexed proposer, address indexed target, bytes data);
    event Confirmed(uint256 indexed id, address indexed owner);
    event ConfirmationRevoked(uint256 indexed id, address indexed owner);
    event Executed(uint256 indexed id, address indexed executor);

    /// @notice The required number of confirmations.
    uint256 public immutable threshold;
    address[] private _owners;
    /// @notice True for each owner.
    mapping(address => bool) public isOwner;
    Proposal[] private _proposals;
    /// @notice Whether owner confirmed proposal id.
    mapping(uint256 => mapping(address => bool)) public confirmed;

    modifier onlyOwner() {
        if (!isOwner[msg.sender]) revert NotOwner();
        _;
    }

    /// @param owners_ distinct non-zero owner addresses
    /// @param threshold_ confirmations needed, 1..owners.length
    constructor(address[] memory owners_, uint256 threshold_) {
        if (owners_.length == 0 || owners_.length > 32) revert InvalidOwners();
        if (threshold_ == 0 || threshold_ > owners_.length) revert InvalidThreshold();
        for (uint256 i = 0; i < owners_.length; i++) {
            address o = owners_[i];
            if (o == address(0) || isOwner[o]) revert InvalidOwners();
            isOwner[o] = true;
            _owners.push(o);
        }
        threshold = threshold_;
    }

    /// @notice The owner list.
    /// @return the owners in deployment order
    function owners() external view returns (address[] memory) {
        return _owners;
    }

    /// @notice Number of proposals ever made.
    /// @return count
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice A proposal.
    /// @param id proposal id
    /// @return target called contract
    /// @return data calldata
    /// @return confirmations confirmations so far
    /// @return executed whether it ran
    function proposal(uint256 id)
        external
        view
        returns (address target, bytes memory data, uint256 confirmations, bool executed)
    {
        if (id >= _proposals.length) revert UnknownProposal(id);
        Proposal storage p = _proposals[id];
        return (p.target, p.data, p.confirmations, p.executed);
    }

    /// @notice Propose a call; the proposer's confirmation is counted.
    /// @param target contract to call
    /// @param data calldata
    /// @return id the proposal id
    function propose(address target, bytes calldata data) external onlyOwner returns (uint256 id) {
        id = _proposals.length;
        _proposals.push(Proposal({target: target, executed: false, confirmations: 1, data: data}));
        confirmed[id][msg.sender] = true;
        emit Proposed(id, msg.sender, target, data);
        emit Confirmed(id, msg.sender);
    }

    /// @notice Confirm a pending proposal.
    /// @param id proposal id
    function confirm(uint256 id) external onlyOwner {
        Proposal storage p = _pending(id);
        if (confirmed[id][msg.sender]) revert AlreadyConfirmed(id);
        confirmed[id][msg.sender] = true;
        p.confirmations += 1;
        emit Confirmed(id, msg.sender);
    }

    /// @notice Withdraw a confirmation before execution.
    /// @param id proposal id
    function revokeConfirmation(uint256 id) external onlyOwner {
        Proposal storage p = _pending(id);
        if (!confirmed[id][msg.sender]) revert NotConfirmed(id);
        confirmed[id][msg.sender] = false;
        p.confirmations -= 1;
        emit ConfirmationRevoked(id, msg.sender);
    }

    /// @notice Execute a proposal that has enough confirmations; runs at most once.
    /// @param id proposal id
    function execute(uint256 id) external onlyOwner {
        Proposal storage p = _pending(id);
        if (p.confirmations < threshold) revert ThresholdNotMet(id);
        p.executed = true; // effects before the call: no re-execution by reentrancy
        (bool ok, bytes memory ret) = p.target.call(p.data);
        if (!ok) revert CallFailed(id, ret);
        emit Executed(id, msg.sender);
    }

    function _pending(uint256 id) private view returns (Proposal storage p) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        p = _proposals[id];
        if (p.executed) revert AlreadyExecuted(id);
    }
}
