// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract PatientRegistryTest is Fixture {
    function test_wire_once_by_deployer() public {
        vm.prank(stranger);
        vm.expectRevert(PatientRegistry.NotDeployer.selector);
        reg.wire(IHealthRecordNFT(address(nft)), IEmergencyAccess(address(emergency)), address(recovery), IAuditTrail(address(audit)));
        vm.expectRevert(PatientRegistry.AlreadyWired.selector);
        reg.wire(IHealthRecordNFT(address(nft)), IEmergencyAccess(address(emergency)), address(recovery), IAuditTrail(address(audit)));
        PatientRegistry fresh = new PatientRegistry(IProviderRegistry(address(providers)));
        vm.expectRevert(PatientRegistry.ZeroAddress.selector);
        fresh.wire(IHealthRecordNFT(address(0)), IEmergencyAccess(address(emergency)), address(recovery), IAuditTrail(address(audit)));
        vm.expectRevert(PatientRegistry.ZeroAddress.selector);
        new PatientRegistry(IProviderRegistry(address(0)));
    }

    function test_register() public {
        (address o, bytes32 k, uint64 regAt) = reg.patientInfo(patient);
        assertEq(o, patient, "owner");
        assertEq(k, KEY, "key");
        assertEq(regAt, T0, "registeredAt");
        assertTrue(reg.isRegistered(patient), "registered");
        assertEq(reg.patientOf(patient), patient, "patientOf");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.AlreadyRegistered.selector, patient));
        reg.register(KEY);
        vm.prank(patient2);
        vm.expectRevert(PatientRegistry.InvalidKey.selector);
        reg.register(bytes32(0));
        vm.expectEmit(true, false, false, true, address(reg));
        emit PatientRegistry.PatientRegistered(patient2, KEY);
        vm.prank(patient2);
        reg.register(KEY);
    }

    function test_update_key() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.updateEncryptionKey(patient, bytes32(uint256(7)));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotRegistered.selector, stranger));
        reg.updateEncryptionKey(stranger, bytes32(uint256(7)));
        vm.prank(patient);
        vm.expectRevert(PatientRegistry.InvalidKey.selector);
        reg.updateEncryptionKey(patient, bytes32(0));
        vm.prank(patient);
        reg.updateEncryptionKey(patient, bytes32(uint256(7)));
        (, bytes32 k,) = reg.patientInfo(patient);
        assertEq(k, bytes32(uint256(7)), "key updated");
    }

    function test_emergency_contacts() public {
        address[] memory c = new address[](2);
        c[0] = contact1;
        c[1] = contact2;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.setEmergencyContacts(patient, c);
        vm.prank(patient);
        reg.setEmergencyContacts(patient, c);
        assertEq(reg.emergencyContacts(patient).length, 2, "contacts");
        address[] memory many = new address[](6);
        for (uint256 i = 0; i < 6; i++) many[i] = contact1;
        vm.prank(patient);
        vm.expectRevert(PatientRegistry.TooManyContacts.selector);
        reg.setEmergencyContacts(patient, many);
        address[] memory z = new address[](1);
        vm.prank(patient);
        vm.expectRevert(PatientRegistry.ZeroAddress.selector);
        reg.setEmergencyContacts(patient, z);
    }

    function test_rotate_owner_only_by_recovery() public {
        vm.prank(patient);
        vm.expectRevert(PatientRegistry.NotRecovery.selector);
        reg.rotateOwner(patient, newOwner);
        vm.prank(address(recovery));
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotRegistered.selector, stranger));
        reg.rotateOwner(stranger, newOwner);
        vm.prank(address(recovery));
        vm.expectRevert(PatientRegistry.ZeroAddress.selector);
        reg.rotateOwner(patient, address(0));
        vm.prank(address(recovery));
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.OwnerTaken.selector, patient));
        reg.rotateOwner(patient, patient);
        vm.prank(address(recovery));
        reg.rotateOwner(patient, newOwner);
        assertEq(reg.ownerOfPatient(patient), newOwner, "rotated");
        assertEq(reg.patientOf(newOwner), patient, "patientOf new");
        assertEq(reg.patientOf(patient), address(0), "patientOf old cleared");
    }

    function test_grant_revoke_extend() public {
        vm.expectEmit(true, true, true, true, address(reg));
        emit PatientRegistry.AccessGranted(patient, doctor, scopeAll(), AccessLevel.Read, T0 + 1 days, patient);
        _grant(doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        assertTrue(reg.canAccess(doctor, patient, 0, AccessLevel.Read), "read");
        assertFalse(reg.canAccess(doctor, patient, 0, AccessLevel.Write), "not write");
        (AccessLevel l, uint64 e, address by) = reg.grantOf(patient, doctor, scopeAll());
        assertEq(uint256(l), 1, "level");
        assertEq(e, T0 + 1 days, "expiry");
        assertEq(by, patient, "grantor");
        vm.prank(patient);
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 2 days);
        vm.warp(T0 + 1 days + 1);
        assertTrue(reg.canAccess(doctor, patient, 0, AccessLevel.Read), "extended");
        vm.prank(patient);
        reg.revokeAccess(patient, doctor, scopeAll());
        assertFalse(reg.canAccess(doctor, patient, 0, AccessLevel.Read), "revoked grant gives nothing");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NoGrant.selector, doctor, scopeAll()));
        reg.revokeAccess(patient, doctor, scopeAll());
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NoGrant.selector, doctor, scopeAll()));
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 9 days);
    }

    function test_grant_expires_by_itself() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 1 hours);
        assertTrue(reg.canAccess(doctor, patient, 0, AccessLevel.Write), "write");
        vm.warp(T0 + 1 hours);
        assertFalse(reg.canAccess(doctor, patient, 0, AccessLevel.Read), "expired grant gives nothing");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.GrantExpired.selector, doctor, scopeAll()));
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 2 hours);
    }

    function test_grant_rejections() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.grantAccess(patient, doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotRegistered.selector, stranger));
        reg.grantAccess(stranger, doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.startPrank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.ProviderNotVerified.selector, unverified));
        reg.grantAccess(patient, unverified, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.expectRevert(PatientRegistry.InvalidLevel.selector);
        reg.grantAccess(patient, doctor, AccessLevel.None, scopeAll(), T0 + 1 days);
        vm.expectRevert(PatientRegistry.InvalidExpiry.selector);
        reg.grantAccess(patient, doctor, AccessLevel.Read, scopeAll(), T0);
        bytes32 bad = bytes32((uint256(1) << 248) | 99);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.InvalidScope.selector, bad));
        reg.grantAccess(patient, doctor, AccessLevel.Read, bad, T0 + 1 days);
        bad = bytes32((uint256(3) << 248));
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.InvalidScope.selector, bad));
        reg.grantAccess(patient, doctor, AccessLevel.Read, bad, T0 + 1 days);
        reg.grantAccess(patient, doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.expectRevert(PatientRegistry.InvalidExpiry.selector);
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 1 days);
        vm.stopPrank();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.revokeAccess(patient, doctor, scopeAll());
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 3 days);
    }

    function test_scopes_per_category_and_record() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        uint256 vac = _mint(doctor, RecordType.Vaccination, 0);
        uint256 lab = _mint(doctor, RecordType.LabResult, 0);
        _grant(doctor2, AccessLevel.Read, scopeCat(RecordType.Vaccination), T0 + 1 days);
        assertTrue(reg.canAccess(doctor2, patient, vac, AccessLevel.Read), "category covers vaccination");
        assertFalse(reg.canAccess(doctor2, patient, lab, AccessLevel.Read), "category excludes lab");
        assertFalse(reg.canAccess(doctor2, patient, 0, AccessLevel.Read), "category is not all");
        _grant(doctor2, AccessLevel.Read, scopeRec(lab), T0 + 1 days);
        assertTrue(reg.canAccess(doctor2, patient, lab, AccessLevel.Read), "record scope");
        assertFalse(reg.canAccess(doctor2, patient, 999, AccessLevel.Read), "unknown record");
        assertFalse(reg.canAccess(doctor2, patient2, vac, AccessLevel.Read), "other patient");
        assertFalse(reg.canAccess(doctor2, patient, vac, AccessLevel.None), "level none");
        assertTrue(reg.canAccess(patient, patient, lab, AccessLevel.Admin), "owner may all");
        assertTrue(reg.canWriteType(doctor, patient, RecordType.Imaging), "write any type");
        assertFalse(reg.canWriteType(doctor2, patient, RecordType.Vaccination), "read is not write");
        assertFalse(reg.canWriteType(doctor, stranger, RecordType.Imaging), "unregistered");
        assertEq(reg.scopeCategory(RecordType.Vaccination), scopeCat(RecordType.Vaccination), "scopeCategory");
        assertEq(reg.scopeRecord(lab), scopeRec(lab), "scopeRecord");
    }

    /// writeGrant is canWriteType in parts: canWriteType == registered && isVerified && granted,
    /// over every record type, for grants on all records, on a category, read-only, expired,
    /// for a suspended provider and an unregistered patient.
    function test_write_grant_parts_of_can_write_type() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        _grant(doctor2, AccessLevel.Write, scopeCat(RecordType.Imaging), T0 + 1 days);
        _grant(doctor2, AccessLevel.Read, scopeCat(RecordType.LabResult), T0 + 30 days);
        _grant(er, AccessLevel.Admin, scopeCat(RecordType.General), T0 + 30 days);
        address[5] memory who = [doctor, doctor2, er, unverified, stranger];
        address[2] memory pats = [patient, stranger];
        for (uint256 round = 0; round < 3; round++) {
            if (round == 1) vm.warp(T0 + 1 days); // doctor2's Imaging grant expires
            if (round == 2) {
                vm.prank(authority);
                providers.suspendProvider(doctor, bytes32(0));
            }
            for (uint256 w = 0; w < who.length; w++) {
                for (uint256 p = 0; p < pats.length; p++) {
                    for (uint256 t = 0; t <= uint256(type(RecordType).max); t++) {
                        (bool registered, bool granted) = reg.writeGrant(who[w], pats[p], RecordType(t));
                        assertTrue(registered == reg.isRegistered(pats[p]), "registered");
                        assertTrue(registered || !granted, "no grant without registration");
                        assertTrue(
                            reg.canWriteType(who[w], pats[p], RecordType(t)) == (registered && providers.isVerified(who[w]) && granted),
                            "parts"
                        );
                    }
                }
            }
        }
        (, bool g) = reg.writeGrant(doctor, patient, RecordType.General);
        assertTrue(g, "granted, though suspended");
        assertFalse(reg.canWriteType(doctor, patient, RecordType.General), "suspended cannot write");
        (, g) = reg.writeGrant(doctor2, patient, RecordType.Imaging);
        assertFalse(g, "expired");
        (, g) = reg.writeGrant(er, patient, RecordType.General);
        assertTrue(g, "admin covers write");
    }

    function test_suspended_provider_loses_access() public {
        _grant(doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.prank(authority);
        providers.suspendProvider(doctor, bytes32(0));
        assertFalse(reg.canAccess(doctor, patient, 0, AccessLevel.Read), "suspended");
    }

    function test_admin_delegate() public {
        _grant(doctor, AccessLevel.Admin, scopeAll(), T0 + 10 days);
        vm.prank(doctor);
        reg.grantAccess(patient, doctor2, AccessLevel.Write, scopeAll(), T0 + 1 days);
        assertTrue(reg.canAccess(doctor2, patient, 0, AccessLevel.Write), "delegated grant");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.grantAccess(patient, doctor2, AccessLevel.Admin, scopeAll(), T0 + 1 days);
        vm.prank(doctor);
        reg.extendAccess(patient, doctor2, scopeAll(), T0 + 2 days);
        vm.prank(doctor);
        reg.revokeAccess(patient, doctor2, scopeAll());
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.revokeAccess(patient, doctor, scopeAll());
        // a delegate cannot downgrade another Admin grant by overwriting it
        _grant(doctor2, AccessLevel.Admin, scopeAll(), T0 + 10 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.grantAccess(patient, doctor2, AccessLevel.Read, scopeAll(), T0 + 1 days);
        (AccessLevel l,,) = reg.grantOf(patient, doctor2, scopeAll());
        assertEq(uint256(l), uint256(AccessLevel.Admin), "still admin");
    }

    function test_request_approve() public {
        vm.prank(doctor);
        uint256 id = reg.requestAccess(patient, Purpose.Treatment, 3 days, AccessLevel.Read, scopeAll());
        assertEq(reg.openRequest(patient, doctor), id + 1, "open");
        assertEq(reg.requestCount(), 1, "count");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.RequestAlreadyOpen.selector, id));
        reg.requestAccess(patient, Purpose.Treatment, 3 days, AccessLevel.Read, scopeAll());
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotPatientOwner.selector, patient));
        reg.approveRequest(id);
        vm.warp(T0 + 100);
        vm.prank(patient);
        reg.approveRequest(id);
        (AccessLevel l, uint64 e,) = reg.grantOf(patient, doctor, scopeAll());
        assertEq(uint256(l), 1, "granted read");
        assertEq(e, T0 + 100 + 3 days, "expiry from approval");
        PatientRegistry.Request memory r = reg.requestInfo(id);
        assertEq(uint256(r.status), 2, "approved");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.RequestNotPending.selector, id));
        reg.approveRequest(id);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.RequestNotPending.selector, id));
        reg.denyRequest(id);
    }

    function test_request_deny_cancel_expire() public {
        vm.prank(doctor);
        uint256 id = reg.requestAccess(patient, Purpose.Research, 1 days, AccessLevel.Read, scopeAll());
        vm.prank(patient);
        reg.denyRequest(id);
        assertEq(reg.openRequest(patient, doctor), 0, "closed");
        vm.prank(doctor);
        uint256 id2 = reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Write, scopeCat(RecordType.Imaging));
        vm.prank(doctor2);
        vm.expectRevert(PatientRegistry.NotAuthorized.selector);
        reg.cancelRequest(id2);
        vm.prank(doctor);
        reg.cancelRequest(id2);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.RequestNotPending.selector, id2));
        reg.cancelRequest(id2);
        vm.prank(doctor);
        uint256 id3 = reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Read, scopeAll());
        vm.warp(T0 + 7 days);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.RequestExpired.selector, id3));
        reg.approveRequest(id3);
        // an expired request no longer blocks a new one
        vm.prank(doctor);
        reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Read, scopeAll());
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.UnknownRequest.selector, 99));
        reg.requestInfo(99);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.UnknownRequest.selector, 99));
        reg.denyRequest(99);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.UnknownRequest.selector, 99));
        reg.cancelRequest(99);
    }

    function test_request_rejections() public {
        vm.prank(unverified);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.ProviderNotVerified.selector, unverified));
        reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Read, scopeAll());
        vm.startPrank(doctor);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.NotRegistered.selector, stranger));
        reg.requestAccess(stranger, Purpose.Treatment, 1 days, AccessLevel.Read, scopeAll());
        vm.expectRevert(PatientRegistry.InvalidLevel.selector);
        reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.None, scopeAll());
        vm.expectRevert(PatientRegistry.InvalidPurpose.selector);
        reg.requestAccess(patient, Purpose.Unspecified, 1 days, AccessLevel.Read, scopeAll());
        vm.expectRevert(PatientRegistry.InvalidDuration.selector);
        reg.requestAccess(patient, Purpose.Treatment, 0, AccessLevel.Read, scopeAll());
        vm.expectRevert(PatientRegistry.InvalidDuration.selector);
        reg.requestAccess(patient, Purpose.Treatment, 366 days, AccessLevel.Read, scopeAll());
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.InvalidScope.selector, bytes32(uint256(2) << 248)));
        reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Read, bytes32(uint256(2) << 248));
        vm.stopPrank();
    }

    function test_approve_fails_if_provider_suspended_meanwhile() public {
        vm.prank(doctor);
        uint256 id = reg.requestAccess(patient, Purpose.Treatment, 1 days, AccessLevel.Read, scopeAll());
        vm.prank(authority);
        providers.suspendProvider(doctor, bytes32(0));
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.ProviderNotVerified.selector, doctor));
        reg.approveRequest(id);
    }

    function test_rotated_owner_cannot_register_again() public {
        vm.prank(address(recovery));
        reg.rotateOwner(patient, newOwner);
        vm.prank(newOwner);
        vm.expectRevert(abi.encodeWithSelector(PatientRegistry.AlreadyRegistered.selector, newOwner));
        reg.register(KEY);
    }

    function test_unwired_registry_refuses_grants() public {
        PatientRegistry fresh = new PatientRegistry(IProviderRegistry(address(providers)));
        vm.prank(patient);
        fresh.register(KEY);
        vm.prank(patient);
        vm.expectRevert(PatientRegistry.NotWired.selector);
        fresh.grantAccess(patient, doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
    }
}
