// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract ProviderRegistryTest is Fixture {
    function test_only_governance_sets_authority_and_governance() public {
        vm.prank(stranger);
        vm.expectRevert(ProviderRegistry.NotGovernance.selector);
        providers.setAuthority(stranger, true);
        vm.prank(stranger);
        vm.expectRevert(ProviderRegistry.NotGovernance.selector);
        providers.setGovernance(stranger);
        vm.expectRevert(ProviderRegistry.ZeroAddress.selector);
        new ProviderRegistry(address(0));
    }

    function test_set_governance_hands_over() public {
        _govCall(abi.encodeCall(ProviderRegistry.setGovernance, (g1)));
        assertEq(providers.governance(), g1, "governance");
        vm.prank(g1);
        providers.setAuthority(stranger, true);
        vm.prank(g1);
        vm.expectRevert(ProviderRegistry.ZeroAddress.selector);
        providers.setGovernance(address(0));
        vm.prank(g1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.AuthorityUnchanged.selector, stranger));
        providers.setAuthority(stranger, true);
        vm.prank(g1);
        vm.expectRevert(ProviderRegistry.ZeroAddress.selector);
        providers.setAuthority(address(0), true);
    }

    function test_verify_and_views() public view {
        assertTrue(providers.isVerified(doctor), "doctor verified");
        assertFalse(providers.isEmergencyProvider(doctor), "doctor not ER");
        assertTrue(providers.isEmergencyProvider(er), "er");
        assertFalse(providers.isVerified(unverified), "unverified");
        (ProviderRegistry.Status st, uint8 roles, uint64 exp, address auth, bytes32 lh) = providers.providerInfo(doctor);
        assertEq(uint256(st), 1, "active");
        assertEq(roles, 1, "roles");
        assertEq(exp, T0 + 365 days, "expiry");
        assertEq(auth, authority, "authority");
        assertEq(lh, keccak256("licence-doctor"), "licence hash");
    }

    function test_verify_rejections() public {
        vm.prank(stranger);
        vm.expectRevert(ProviderRegistry.NotAuthority.selector);
        providers.verifyProvider(unverified, 1, bytes32(0), T0 + 1 days);
        vm.startPrank(authority);
        vm.expectRevert(ProviderRegistry.ZeroAddress.selector);
        providers.verifyProvider(address(0), 1, bytes32(0), T0 + 1 days);
        vm.expectRevert(ProviderRegistry.InvalidRoles.selector);
        providers.verifyProvider(unverified, 0, bytes32(0), T0 + 1 days);
        vm.expectRevert(ProviderRegistry.InvalidRoles.selector);
        providers.verifyProvider(unverified, 4, bytes32(0), T0 + 1 days);
        vm.expectRevert(ProviderRegistry.InvalidExpiry.selector);
        providers.verifyProvider(unverified, 1, bytes32(0), T0);
        vm.stopPrank();
    }

    function test_licence_expiry_unverifies() public {
        vm.warp(T0 + 365 days);
        assertFalse(providers.isVerified(doctor), "expired licence");
    }

    function test_suspend_and_reinstate() public {
        vm.prank(stranger);
        vm.expectRevert(ProviderRegistry.NotAuthority.selector);
        providers.suspendProvider(doctor, bytes32(0));
        vm.startPrank(authority);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.UnknownProvider.selector, unverified));
        providers.suspendProvider(unverified, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderNotSuspended.selector, doctor));
        providers.reinstateProvider(doctor);
        vm.expectEmit(true, true, false, true, address(providers));
        emit ProviderRegistry.ProviderSuspended(doctor, authority, keccak256("reason"));
        providers.suspendProvider(doctor, keccak256("reason"));
        assertFalse(providers.isVerified(doctor), "suspended");
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderIsSuspended.selector, doctor));
        providers.suspendProvider(doctor, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderIsSuspended.selector, doctor));
        providers.verifyProvider(doctor, 1, bytes32(0), T0 + 1 days);
        providers.reinstateProvider(doctor);
        assertTrue(providers.isVerified(doctor), "reinstated");
        vm.stopPrank();
    }

    function test_removing_authority_unverifies_its_providers() public {
        _govCall(abi.encodeCall(ProviderRegistry.setAuthority, (authority, false)));
        assertFalse(providers.isVerified(doctor), "authority removed");
    }
}
