// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract GovernanceTest is Fixture {
    function test_constructor_rejects_bad_owner_sets() public {
        address[] memory none = new address[](0);
        vm.expectRevert(GovernanceMultisig.InvalidOwners.selector);
        new GovernanceMultisig(none, 1);
        address[] memory dup = new address[](2);
        dup[0] = g1;
        dup[1] = g1;
        vm.expectRevert(GovernanceMultisig.InvalidOwners.selector);
        new GovernanceMultisig(dup, 1);
        address[] memory one = new address[](1);
        one[0] = g1;
        vm.expectRevert(GovernanceMultisig.InvalidThreshold.selector);
        new GovernanceMultisig(one, 2);
        vm.expectRevert(GovernanceMultisig.InvalidThreshold.selector);
        new GovernanceMultisig(one, 0);
    }

    function test_views() public view {
        assertEq(gov.threshold(), 2, "threshold");
        assertEq(gov.owners().length, 3, "owners");
        assertTrue(gov.isOwner(g2), "isOwner");
        assertEq(gov.proposalCount(), 1, "one proposal from setUp");
        (address target,, uint256 conf, bool executed) = gov.proposal(0);
        assertEq(target, address(providers), "target");
        assertEq(conf, 2, "confirmations");
        assertTrue(executed, "executed");
    }

    function test_propose_confirm_execute_once() public {
        bytes memory data = abi.encodeCall(ProviderRegistry.setAuthority, (stranger, true));
        vm.prank(g1);
        uint256 id = gov.propose(address(providers), data);
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.ThresholdNotMet.selector, id));
        gov.execute(id);
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.AlreadyConfirmed.selector, id));
        gov.confirm(id);
        vm.prank(g3);
        gov.confirm(id);
        vm.prank(g2);
        gov.execute(id);
        assertTrue(providers.isAuthority(stranger), "authority set");
        // no replay
        vm.prank(g2);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.AlreadyExecuted.selector, id));
        gov.execute(id);
        vm.prank(g2);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.AlreadyExecuted.selector, id));
        gov.confirm(id);
    }

    function test_revoke_confirmation() public {
        vm.prank(g1);
        uint256 id = gov.propose(address(providers), abi.encodeCall(ProviderRegistry.setAuthority, (stranger, true)));
        vm.prank(g2);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.NotConfirmed.selector, id));
        gov.revokeConfirmation(id);
        vm.prank(g1);
        gov.revokeConfirmation(id);
        vm.prank(g2);
        gov.confirm(id);
        vm.prank(g2);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.ThresholdNotMet.selector, id));
        gov.execute(id);
    }

    function test_failed_call_reverts_and_stays_pending() public {
        // setting an existing authority again fails inside the registry
        vm.prank(g1);
        uint256 id = gov.propose(address(providers), abi.encodeCall(ProviderRegistry.setAuthority, (authority, true)));
        vm.prank(g2);
        gov.confirm(id);
        vm.prank(g1);
        vm.expectRevert(
            abi.encodeWithSelector(
                GovernanceMultisig.CallFailed.selector,
                id,
                abi.encodeWithSelector(ProviderRegistry.AuthorityUnchanged.selector, authority)
            )
        );
        gov.execute(id);
        (,,, bool executed) = gov.proposal(id);
        assertFalse(executed, "still pending");
    }

    function test_rejects_non_owner_and_unknown() public {
        vm.prank(stranger);
        vm.expectRevert(GovernanceMultisig.NotOwner.selector);
        gov.propose(address(providers), "");
        vm.prank(stranger);
        vm.expectRevert(GovernanceMultisig.NotOwner.selector);
        gov.confirm(0);
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.UnknownProposal.selector, 99));
        gov.confirm(99);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.UnknownProposal.selector, 99));
        gov.proposal(99);
    }
}
