// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {Vm} from "./utils/Test.sol";

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

    // ------------------------------------------------------------------ logViews = logAccess(View) in a loop

    struct V {
        address p;
        uint256 id;
    }

    function _logsHash(Vm.Log[] memory logs) internal pure returns (bytes32 h) {
        for (uint256 i = 0; i < logs.length; i++) h = keccak256(abi.encode(h, logs[i].emitter, logs[i].topics, logs[i].data));
    }

    function _stateHash(V[] memory vs) internal view returns (bytes32 h) {
        h = keccak256(abi.encode(audit.headOf(patient), audit.countOf(patient), audit.headOf(patient2), audit.countOf(patient2)));
        for (uint256 i = 0; i < vs.length; i++) h = keccak256(abi.encode(h, audit.recordEntryCount(vs[i].id)));
    }

    /// logViews(vs) by `by` and logAccess(View) of each entry in order (stopping at the first
    /// refusal) end alike: both succeed with the same events and chains, or both fail
    /// (logViews with NotAuthorized). Returns whether they succeeded; state is left as before.
    function _viewsSameAsSingles(address by, V[] memory vs) internal returns (bool ok) {
        uint256 snap = vm.snapshotState();
        bytes memory packed;
        for (uint256 i = 0; i < vs.length; i++) packed = abi.encodePacked(packed, vs[i].p, vs[i].id, uint8(Purpose.Treatment));
        vm.recordLogs();
        ok = true;
        vm.startPrank(by);
        for (uint256 i = 0; i < vs.length && ok; i++) {
            (ok,) = address(audit).call(abi.encodeCall(AuditTrail.logAccess, (vs[i].p, vs[i].id, AuditAction.View, Purpose.Treatment)));
        }
        vm.stopPrank();
        bytes32 singleLogs = _logsHash(vm.getRecordedLogs());
        bytes32 singleState = _stateHash(vs);
        vm.revertToState(snap);
        vm.recordLogs();
        vm.prank(by);
        (bool okBatch, bytes memory out) = address(audit).call(abi.encodeCall(AuditTrail.logViews, (packed)));
        bytes32 batchLogs = _logsHash(vm.getRecordedLogs());
        assertTrue(ok == okBatch, "logViews and logAccess agree");
        if (ok) {
            assertEq(batchLogs, singleLogs, "same events");
            assertEq(_stateHash(vs), singleState, "same chains and counts");
        } else {
            assertEq(keccak256(out), keccak256(abi.encodeWithSelector(AuditTrail.NotAuthorized.selector)), "NotAuthorized");
        }
        vm.revertToState(snap);
    }

    /// Every reader kind (owner, grant on all records, category and record grants only, an
    /// emergency session, a suspended provider with a grant, a stranger) against batches mixing
    /// live, burned, missing and other patients' records, record 0, runs and alternations of
    /// patients: logViews allows exactly what logAccess allows, entry by entry.
    function test_log_views_same_as_log_access() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        uint256 vac = _mint(doctor, RecordType.Vaccination, 0);
        uint256 lab = _mint(doctor, RecordType.LabResult, 0);
        uint256 img = _mint(doctor, RecordType.Imaging, 0);
        uint256 gone = _mint(doctor, RecordType.General, 0);
        vm.prank(patient);
        nft.burn(gone);
        vm.prank(patient2);
        reg.register(KEY);
        vm.prank(patient2);
        reg.grantAccess(patient2, doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        vm.prank(doctor);
        uint256 other = nft.mintRecord(patient2, HASH1, CID1, RecordType.LabResult, 0);
        _grant(doctor2, AccessLevel.Read, scopeCat(RecordType.Vaccination), T0 + 30 days);
        _grant(doctor2, AccessLevel.Read, scopeRec(lab), T0 + 30 days);
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 2, keccak256("reason"));
        address suspended = vm.addr(0x304);
        vm.prank(authority);
        providers.verifyProvider(suspended, 1, keccak256("licence-s"), T0 + 365 days);
        _grant(suspended, AccessLevel.Read, scopeAll(), T0 + 30 days);
        vm.prank(authority);
        providers.suspendProvider(suspended, bytes32(0));

        V[9] memory pool = [
            V(patient, vac), V(patient, lab), V(patient, img), V(patient, gone), V(patient, 999),
            V(patient, 0), V(patient, other), V(patient2, other), V(patient2, vac)
        ];
        address[7] memory readers = [patient, doctor, doctor2, er, suspended, stranger, patient2];
        uint256 x = 0x9e3779b97f4a7c15;
        uint256 allowed;
        uint256 refused;
        for (uint256 r = 0; r < readers.length; r++) {
            // every single entry, then pseudo-random batches of 2..6
            for (uint256 k = 0; k < 40; k++) {
                uint256 len = k < pool.length ? 1 : 2 + x % 5;
                V[] memory vs = new V[](len);
                for (uint256 i = 0; i < len; i++) {
                    x = uint256(keccak256(abi.encode(x)));
                    // batches 9..24 from the entries most readers may log (live records, record 0,
                    // patient2's own record), the rest from the whole pool
                    uint256[5] memory good = [uint256(0), 1, 2, 5, 7];
                    vs[i] = k < pool.length ? pool[k] : k < 25 ? pool[good[x % 5]] : pool[x % pool.length];
                }
                if (_viewsSameAsSingles(readers[r], vs)) allowed++;
                else refused++;
            }
        }
        assertTrue(allowed > 50 && refused > 100, "both outcomes covered");
    }
}
