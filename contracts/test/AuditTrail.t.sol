// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract AuditTrailTest is Fixture {
    function test_wire_once() public {
        address[] memory m = new address[](0);
        vm.prank(stranger);
        vm.expectRevert(AuditTrail.NotDeployer.selector);
        audit.wire(m);
        vm.expectRevert(AuditTrail.AlreadyWired.selector);
        audit.wire(m);
        AuditTrail fresh = new AuditTrail(IPatientRegistry(address(reg)));
        address[] memory z = new address[](1);
        vm.expectRevert(AuditTrail.ZeroAddress.selector);
        fresh.wire(z);
        vm.expectRevert(AuditTrail.ZeroAddress.selector);
        new AuditTrail(IPatientRegistry(address(0)));
    }

    function test_only_modules_record() public {
        vm.prank(stranger);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.record(patient, 0, stranger, AuditAction.View, Purpose.Treatment);
        assertTrue(audit.isModule(address(nft)), "nft is module");
    }

    function test_hash_chain_proves_completeness() public {
        uint256 id = _grantAndMint();
        vm.prank(doctor);
        audit.logAccess(patient, id, AuditAction.View, Purpose.Treatment);
        // recompute: Share(grant), Create(mint), View
        bytes32 h = audit.link(bytes32(0), 0, doctor, 0, T0, AuditAction.Share, Purpose.PatientRequest);
        h = audit.link(h, 1, doctor, id, T0, AuditAction.Create, Purpose.Treatment);
        h = audit.link(h, 2, doctor, id, T0, AuditAction.View, Purpose.Treatment);
        assertEq(audit.headOf(patient), h, "head");
        assertEq(audit.countOf(patient), 3, "count");
        assertEq(audit.recordEntryCount(id), 2, "per-record count");
    }

    function test_log_access_rules() public {
        uint256 id = _grantAndMint();
        vm.prank(doctor2);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.logAccess(patient, id, AuditAction.View, Purpose.Treatment);
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.logAccess(patient, id, AuditAction.Share, Purpose.Treatment);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(AuditTrail.ActionNotAllowed.selector, AuditAction.Create));
        audit.logAccess(patient, id, AuditAction.Create, Purpose.Treatment);
        vm.prank(patient);
        audit.logAccess(patient, id, AuditAction.Share, Purpose.PatientRequest);
        vm.prank(patient);
        audit.logAccess(patient, 0, AuditAction.View, Purpose.PatientRequest);
        vm.expectEmit(true, true, true, false, address(audit));
        emit AuditTrail.AuditLogged(patient, id, doctor, AuditAction.View, Purpose.Treatment, T0, 4, bytes32(0));
        vm.prank(doctor);
        audit.logAccess(patient, id, AuditAction.View, Purpose.Treatment);
        vm.warp(T0 + 30 days);
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.logAccess(patient, id, AuditAction.View, Purpose.Treatment);
    }

    function test_log_views_batch() public {
        uint256 id = _grantAndMint();
        bytes memory e = abi.encodePacked(patient, id, uint8(Purpose.Treatment));
        e = abi.encodePacked(e, patient, uint256(0), uint8(Purpose.Treatment));
        e = abi.encodePacked(e, patient, id, uint8(Purpose.Emergency));
        assertEq(e.length, 3 * audit.ENTRY_BYTES(), "packing");
        vm.prank(doctor);
        audit.logViews(e);
        // the same fold as three logAccess calls: Share(grant), Create(mint), then the batch
        bytes32 h = audit.link(bytes32(0), 0, doctor, 0, T0, AuditAction.Share, Purpose.PatientRequest);
        h = audit.link(h, 1, doctor, id, T0, AuditAction.Create, Purpose.Treatment);
        h = audit.link(h, 2, doctor, id, T0, AuditAction.View, Purpose.Treatment);
        h = audit.link(h, 3, doctor, 0, T0, AuditAction.View, Purpose.Treatment);
        h = audit.link(h, 4, doctor, id, T0, AuditAction.View, Purpose.Emergency);
        assertEq(audit.headOf(patient), h, "head");
        assertEq(audit.countOf(patient), 5, "count");
        assertEq(audit.recordEntryCount(id), 3, "per-record count");
        // the patient's owner may batch its own views
        vm.prank(patient);
        audit.logViews(e);
        assertEq(audit.countOf(patient), 8, "owner batch");
    }

    function test_log_views_all_or_nothing() public {
        uint256 id = _grantAndMint();
        bytes memory e = abi.encodePacked(patient, id, uint8(Purpose.Treatment), patient, id, uint8(1));
        // a stranger may not read: nothing is logged
        vm.prank(doctor2);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.logViews(e);
        // whole entries only, 1..MAX_BATCH of them, known purposes
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.WrongBatch.selector);
        audit.logViews(abi.encodePacked(e, uint8(0)));
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.WrongBatch.selector);
        audit.logViews("");
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.WrongBatch.selector);
        audit.logViews(abi.encodePacked(patient, id, uint8(200)));
        bytes memory big = new bytes(53 * 257);
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.WrongBatch.selector);
        audit.logViews(big);
        // expired grant: the whole batch reverts
        vm.warp(T0 + 30 days);
        vm.prank(doctor);
        vm.expectRevert(AuditTrail.NotAuthorized.selector);
        audit.logViews(e);
        assertEq(audit.countOf(patient), 2, "unchanged");
    }
}
