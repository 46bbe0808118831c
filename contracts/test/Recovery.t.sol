// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract RecoveryTest is Fixture {
    function setUp() public override {
        super.setUp();
        address[] memory g = new address[](3);
        g[0] = guardA;
        g[1] = guardB;
        g[2] = guardC;
        vm.prank(patient);
        recovery.setGuardians(patient, g, 2);
    }

    function test_constructor_rejects_zero() public {
        vm.expectRevert(Recovery.ZeroAddress.selector);
        new Recovery(IPatientRegistry(address(0)), IAuditTrail(address(audit)));
    }

    function test_set_guardians_rules() public {
        (address[] memory g, uint8 th, uint64 round) = recovery.guardiansOf(patient);
        assertEq(g.length, 3, "guardians");
        assertEq(th, 2, "threshold");
        assertEq(round, 1, "round");
        address[] memory bad = new address[](2);
        bad[0] = guardA;
        bad[1] = guardA;
        vm.startPrank(patient);
        vm.expectRevert(Recovery.InvalidGuardians.selector);
        recovery.setGuardians(patient, bad, 1);
        bad[1] = patient;
        vm.expectRevert(Recovery.InvalidGuardians.selector);
        recovery.setGuardians(patient, bad, 1);
        bad[1] = address(0);
        vm.expectRevert(Recovery.InvalidGuardians.selector);
        recovery.setGuardians(patient, bad, 1);
        bad[1] = guardB;
        vm.expectRevert(Recovery.InvalidThreshold.selector);
        recovery.setGuardians(patient, bad, 3);
        vm.expectRevert(Recovery.InvalidThreshold.selector);
        recovery.setGuardians(patient, bad, 0);
        vm.expectRevert(Recovery.InvalidGuardians.selector);
        recovery.setGuardians(patient, new address[](0), 1);
        vm.expectRevert(Recovery.InvalidGuardians.selector);
        recovery.setGuardians(patient, new address[](11), 1);
        vm.stopPrank();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NotPatientOwner.selector, patient));
        recovery.setGuardians(patient, bad, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NotRegistered.selector, stranger));
        recovery.setGuardians(stranger, bad, 1);
        // replacing the set drops the old guardians
        vm.prank(patient);
        recovery.setGuardians(patient, bad, 1);
        vm.prank(guardC);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NotGuardian.selector, patient, guardC));
        recovery.approveRecovery(patient, newOwner);
    }

    function test_m_of_n_with_timelock() public {
        vm.prank(guardA);
        recovery.approveRecovery(patient, newOwner);
        assertEq(recovery.votesFor(patient, newOwner), 1, "one vote");
        vm.prank(guardA);
        vm.expectRevert(abi.encodeWithSelector(Recovery.AlreadyApproved.selector, patient, 1));
        recovery.approveRecovery(patient, newOwner);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NoRecoveryScheduled.selector, patient));
        recovery.executeRecovery(patient);
        vm.expectEmit(true, true, false, true, address(recovery));
        emit Recovery.RecoveryScheduled(patient, newOwner, 1, T0 + 2 days);
        vm.prank(guardB);
        recovery.approveRecovery(patient, newOwner);
        (address cand, uint64 readyAt) = recovery.pendingOf(patient);
        assertEq(cand, newOwner, "candidate");
        assertEq(readyAt, T0 + 2 days, "readyAt");
        vm.prank(guardC);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryAlreadyScheduled.selector, patient));
        recovery.approveRecovery(patient, stranger);
        // early
        vm.warp(T0 + 2 days - 1);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryTimelocked.selector, patient, T0 + 2 days));
        recovery.executeRecovery(patient);
        vm.warp(T0 + 2 days);
        recovery.executeRecovery(patient);
        assertEq(reg.ownerOfPatient(patient), newOwner, "rotated");
        // replay
        vm.expectRevert(abi.encodeWithSelector(Recovery.NoRecoveryScheduled.selector, patient));
        recovery.executeRecovery(patient);
        // old votes never count again: a new round starts from zero
        assertEq(recovery.votesFor(patient, newOwner), 0, "fresh round");
        // the new owner controls the patient; the old one does not
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.updateEncryptionKey(patient, bytes32(uint256(9)));
        vm.prank(newOwner);
        reg.updateEncryptionKey(patient, bytes32(uint256(9)));
    }

    function test_owner_cancels_during_timelock() public {
        vm.prank(guardA);
        recovery.approveRecovery(patient, stranger);
        vm.prank(guardB);
        recovery.approveRecovery(patient, stranger);
        vm.prank(guardA);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NotPatientOwner.selector, patient));
        recovery.cancelRecovery(patient);
        vm.prank(patient);
        recovery.cancelRecovery(patient);
        vm.warp(T0 + 3 days);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NoRecoveryScheduled.selector, patient));
        recovery.executeRecovery(patient);
        assertEq(reg.ownerOfPatient(patient), patient, "unchanged");
        // guardians may vote again in the new round; one vote is not enough
        vm.prank(guardA);
        recovery.approveRecovery(patient, newOwner);
        (, uint64 readyAt) = recovery.pendingOf(patient);
        assertEq(readyAt, 0, "not scheduled");
    }

    function test_split_votes_do_not_add_up() public {
        vm.prank(guardA);
        recovery.approveRecovery(patient, newOwner);
        vm.prank(guardB);
        recovery.approveRecovery(patient, stranger);
        (, uint64 readyAt) = recovery.pendingOf(patient);
        assertEq(readyAt, 0, "no candidate has 2");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Recovery.NotGuardian.selector, patient, stranger));
        recovery.approveRecovery(patient, newOwner);
        vm.prank(guardC);
        vm.expectRevert(Recovery.ZeroAddress.selector);
        recovery.approveRecovery(patient, address(0));
    }

    function test_taken_candidate_refused_and_lapse() public {
        vm.prank(patient2);
        reg.register(KEY);
        vm.prank(guardA);
        vm.expectRevert(abi.encodeWithSelector(Recovery.CandidateTaken.selector, patient2));
        recovery.approveRecovery(patient, patient2);
        // the candidate becomes taken after the votes: execution fails, then the schedule lapses
        vm.prank(guardA);
        recovery.approveRecovery(patient, newOwner);
        vm.prank(guardB);
        recovery.approveRecovery(patient, newOwner);
        vm.prank(newOwner);
        reg.register(KEY);
        vm.warp(T0 + 2 days);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.OwnerTaken.selector, newOwner));
        recovery.executeRecovery(patient);
        vm.prank(guardC);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryAlreadyScheduled.selector, patient));
        recovery.approveRecovery(patient, stranger);
        vm.warp(T0 + 9 days);
        vm.expectRevert(abi.encodeWithSelector(Recovery.RecoveryLapsed.selector, patient));
        recovery.executeRecovery(patient);
        vm.expectEmit(true, false, false, true, address(recovery));
        emit Recovery.RecoveryScheduleLapsed(patient, 1);
        vm.prank(guardC);
        recovery.approveRecovery(patient, stranger);
        (,, uint64 round) = recovery.guardiansOf(patient);
        assertEq(round, 2, "new round after lapse");
        assertEq(recovery.votesFor(patient, stranger), 1, "vote counted in the new round");
    }
}
