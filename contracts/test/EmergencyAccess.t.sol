// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract EmergencyAccessTest is Fixture {
    function test_constructor_rejects_zero() public {
        vm.expectRevert(EmergencyAccess.ZeroAddress.selector);
        new EmergencyAccess(IPatientRegistry(address(reg)), IProviderRegistry(address(0)), IAuditTrail(address(audit)));
    }

    function test_open_notifies_and_grants_read() public {
        address[] memory c = new address[](2);
        c[0] = contact1;
        c[1] = contact2;
        vm.prank(patient);
        reg.setEmergencyContacts(patient, c);
        uint256 id = _grantAndMint();
        uint64 exp = T0 + 24 hours;
        vm.expectEmit(true, true, false, true, address(emergency));
        emit EmergencyAccess.EmergencyAccessOpened(patient, er, 2, keccak256("reason"), exp);
        vm.expectEmit(true, true, true, true, address(emergency));
        emit EmergencyAccess.EmergencyNotification(patient, patient, er, exp);
        vm.expectEmit(true, true, true, true, address(emergency));
        emit EmergencyAccess.EmergencyNotification(patient, contact1, er, exp);
        vm.expectEmit(true, true, true, true, address(emergency));
        emit EmergencyAccess.EmergencyNotification(patient, contact2, er, exp);
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 2, keccak256("reason"));
        assertTrue(emergency.isActive(patient, er), "active");
        assertTrue(reg.canAccess(er, patient, id, AccessLevel.Read), "break-glass read");
        assertFalse(reg.canAccess(er, patient, id, AccessLevel.Write), "never write");
        EmergencyAccess.Session memory s = emergency.sessionOf(patient, er);
        assertEq(s.expiresAt, exp, "expiry");
        assertEq(s.reasonCode, 2, "reason");
        vm.prank(er);
        vm.expectRevert(abi.encodeWithSelector(EmergencyAccess.SessionActive.selector, patient, er));
        emergency.openEmergencyAccess(patient, 2, keccak256("reason"));
        vm.warp(exp);
        assertFalse(emergency.isActive(patient, er), "expired after 24h");
        assertFalse(reg.canAccess(er, patient, id, AccessLevel.Read), "no read after expiry");
        vm.prank(er);
        vm.expectRevert(abi.encodeWithSelector(EmergencyAccess.NoActiveSession.selector, patient, er));
        emergency.closeEmergencyAccess(patient, er);
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 1, bytes32(0));
    }

    function test_patient_closes_early() public {
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 1, bytes32(0));
        vm.prank(stranger);
        vm.expectRevert(EmergencyAccess.NotAuthorized.selector);
        emergency.closeEmergencyAccess(patient, er);
        vm.warp(T0 + 1 hours);
        vm.prank(patient);
        emergency.closeEmergencyAccess(patient, er);
        assertFalse(emergency.isActive(patient, er), "closed");
        assertEq(audit.countOf(patient), 2, "open + close audited");
    }

    function test_open_rejections() public {
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(EmergencyAccess.NotEmergencyProvider.selector, doctor));
        emergency.openEmergencyAccess(patient, 1, bytes32(0));
        vm.prank(er);
        vm.expectRevert(abi.encodeWithSelector(EmergencyAccess.NotRegistered.selector, stranger));
        emergency.openEmergencyAccess(stranger, 1, bytes32(0));
        vm.prank(er);
        vm.expectRevert(EmergencyAccess.InvalidReason.selector);
        emergency.openEmergencyAccess(patient, 0, bytes32(0));
    }

    function test_suspension_ends_session() public {
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 1, bytes32(0));
        vm.prank(authority);
        providers.suspendProvider(er, bytes32(0));
        assertFalse(emergency.isActive(patient, er), "suspended provider has no session");
    }
}
