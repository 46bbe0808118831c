// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

/// @notice PatientRegistry.accessUntil against canAccess: canAccess(...) == (accessUntil(...) >
///         block.timestamp) for every accessor kind, patient, record and level, at timestamps on
///         both sides of every expiry the fixture sets up, with no state change between them.
contract AccessUntilTest is Fixture {
    address internal shortLicence = vm.addr(0x311); // licence ends before its grant
    address internal orphan = vm.addr(0x312);       // its authority was removed
    address internal suspended = vm.addr(0x313);    // suspended after its grant
    address internal er2 = vm.addr(0x402);          // emergency session closed early
    address internal erOnly = vm.addr(0x403);       // emergency role only, no provider role
    address internal minter = vm.addr(0x314);
    address internal authority2 = vm.addr(0x202);

    uint256 internal recVac;   // Vaccination, patient
    uint256 internal recLab;   // LabResult, patient
    uint256 internal recBurn;  // burned
    uint256 internal recOther; // patient2's

    address[] internal accessors;
    address[] internal patients;
    uint256[] internal records;
    uint64[] internal times;

    function setUp() public override {
        super.setUp();
        _govCall(abi.encodeCall(ProviderRegistry.setAuthority, (authority2, true)));
        vm.startPrank(authority);
        providers.verifyProvider(shortLicence, 1, keccak256("l-short"), T0 + 2 days);
        providers.verifyProvider(suspended, 1, keccak256("l-susp"), T0 + 365 days);
        providers.verifyProvider(er2, 2, keccak256("l-er2"), T0 + 365 days);
        providers.verifyProvider(erOnly, 2, keccak256("l-eronly"), T0 + 20 hours);
        providers.verifyProvider(minter, 1, keccak256("l-minter"), T0 + 365 days);
        vm.stopPrank();
        vm.prank(authority2);
        providers.verifyProvider(orphan, 3, keccak256("l-orphan"), T0 + 365 days);
        vm.prank(patient2);
        reg.register(KEY);

        // records, minted by a provider whose grant is gone afterwards
        _grant(minter, AccessLevel.Write, scopeAll(), T0 + 1 hours);
        vm.startPrank(minter);
        recVac = nft.mintRecord(patient, HASH1, CID1, RecordType.Vaccination, 0);
        recLab = nft.mintRecord(patient, HASH1, CID2, RecordType.LabResult, 0);
        recBurn = nft.mintRecord(patient, HASH1, CID1, RecordType.Imaging, 0);
        vm.stopPrank();
        vm.prank(patient);
        reg.revokeAccess(patient, minter, scopeAll());
        vm.prank(patient);
        nft.burn(recBurn);
        vm.prank(patient2);
        reg.grantAccess(patient2, minter, AccessLevel.Write, scopeAll(), T0 + 1 hours);
        vm.prank(minter);
        recOther = nft.mintRecord(patient2, HASH1, CID1, RecordType.Vaccination, 0);

        // doctor: Read on all (2 days), Write on Vaccination (5 days), Admin on recLab (1 day),
        // Admin on the burned record, Read on recVac expiring within the hour
        _grant(doctor, AccessLevel.Read, scopeAll(), T0 + 2 days);
        _grant(doctor, AccessLevel.Write, scopeCat(RecordType.Vaccination), T0 + 5 days);
        _grant(doctor, AccessLevel.Admin, scopeRec(recLab), T0 + 1 days);
        _grant(doctor, AccessLevel.Admin, scopeRec(recBurn), T0 + 9 days);
        _grant(doctor, AccessLevel.Read, scopeRec(recVac), T0 + 1 hours);
        // doctor2: Write on LabResult (10 days), a revoked Admin on all
        _grant(doctor2, AccessLevel.Write, scopeCat(RecordType.LabResult), T0 + 10 days);
        _grant(doctor2, AccessLevel.Admin, scopeAll(), T0 + 30 days);
        vm.prank(patient);
        reg.revokeAccess(patient, doctor2, scopeAll());
        // er: an open session (24 h) and Write on LabResult (3 days); er2: a session closed
        // after an hour; erOnly: a session longer than its licence; orphan: a session and a grant,
        // then its authority removed
        _grant(er, AccessLevel.Write, scopeCat(RecordType.LabResult), T0 + 3 days);
        vm.prank(er);
        emergency.openEmergencyAccess(patient, 1, keccak256("r"));
        vm.prank(er2);
        emergency.openEmergencyAccess(patient, 2, keccak256("r2"));
        vm.prank(erOnly);
        emergency.openEmergencyAccess(patient, 3, keccak256("r3"));
        _grant(orphan, AccessLevel.Admin, scopeAll(), T0 + 30 days);
        vm.prank(orphan);
        emergency.openEmergencyAccess(patient, 1, keccak256("r4"));
        _grant(shortLicence, AccessLevel.Admin, scopeAll(), T0 + 30 days);
        _grant(suspended, AccessLevel.Write, scopeAll(), T0 + 30 days);
        vm.warp(T0 + 1 hours);
        vm.prank(patient);
        emergency.closeEmergencyAccess(patient, er2);
        vm.startPrank(authority);
        providers.suspendProvider(suspended, keccak256("why"));
        vm.stopPrank();
        _govCall(abi.encodeCall(ProviderRegistry.setAuthority, (authority2, false)));
        // patient2's owner rotated: its id is no longer its owner
        vm.prank(address(recovery));
        reg.rotateOwner(patient2, newOwner);

        accessors = [patient, patient2, newOwner, doctor, doctor2, er, er2, erOnly, orphan, shortLicence,
            suspended, minter, unverified, stranger, address(0)];
        patients = [patient, patient2, stranger];
        records = [0, recVac, recLab, recBurn, recOther, 999];
        times = [T0, T0 + 1 hours - 1, T0 + 1 hours, T0 + 1 hours + 1, T0 + 20 hours, T0 + 1 days,
            T0 + 1 days + 1, T0 + 2 days, T0 + 3 days - 1, T0 + 3 days, T0 + 5 days, T0 + 10 days,
            T0 + 30 days, T0 + 366 days, type(uint64).max - 1];
    }

    function test_access_until_matches_can_access() public {
        uint256 allowed = 0;
        uint256 checked = 0;
        for (uint256 t = 0; t < times.length; t++) {
            vm.warp(times[t]);
            assertEq(reg.blockTimestamp(), times[t], "blockTimestamp");
            for (uint256 a = 0; a < accessors.length; a++) {
                for (uint256 p = 0; p < patients.length; p++) {
                    for (uint256 r = 0; r < records.length; r++) {
                        for (uint8 l = 0; l <= uint8(AccessLevel.Admin); l++) {
                            bool can = reg.canAccess(accessors[a], patients[p], records[r], AccessLevel(l));
                            uint64 until = reg.accessUntil(accessors[a], patients[p], records[r], AccessLevel(l));
                            if (can != (until > block.timestamp)) {
                                // names the case: time, accessor, patient, record, level (2 digits each)
                                assertEq(t * 1e8 + a * 1e6 + p * 1e4 + r * 1e2 + l, 0, "accessUntil disagrees");
                            }
                            allowed += can ? 1 : 0;
                            checked++;
                        }
                    }
                }
            }
        }
        assertEq(checked, times.length * accessors.length * patients.length * records.length * 4, "cases");
        // the cases are not all one way: grants, sessions and licences run out in between
        assertTrue(allowed > 0 && allowed < checked, "mixed decisions");
    }

    function test_access_until_values() public {
        vm.warp(T0 + 2 hours);
        assertEq(reg.accessUntil(patient, patient, recVac, AccessLevel.Admin), type(uint64).max, "owner");
        assertEq(reg.accessUntil(newOwner, patient2, recOther, AccessLevel.Read), type(uint64).max, "rotated owner");
        assertEq(reg.accessUntil(patient2, patient2, 0, AccessLevel.Read), 0, "former owner");
        assertEq(reg.accessUntil(patient, patient, recBurn, AccessLevel.Read), 0, "burned");
        assertEq(reg.accessUntil(patient, patient, recOther, AccessLevel.Read), 0, "foreign record");
        assertEq(reg.accessUntil(patient, patient, 0, AccessLevel.None), 0, "level None");
        assertEq(reg.accessUntil(doctor, stranger, 0, AccessLevel.Read), 0, "unregistered patient");
        assertEq(reg.accessUntil(doctor, patient, 0, AccessLevel.Read), T0 + 2 days, "grant on all");
        assertEq(reg.accessUntil(doctor, patient, 0, AccessLevel.Write), 0, "no Write on all");
        assertEq(reg.accessUntil(doctor, patient, recVac, AccessLevel.Write), T0 + 5 days, "category");
        assertEq(reg.accessUntil(doctor, patient, recVac, AccessLevel.Read), T0 + 5 days, "latest grant");
        assertEq(reg.accessUntil(doctor, patient, recLab, AccessLevel.Admin), T0 + 1 days, "record");
        assertEq(reg.accessUntil(doctor2, patient, 0, AccessLevel.Read), 0, "revoked");
        assertEq(reg.accessUntil(er, patient, 0, AccessLevel.Read), T0 + 1 days, "emergency session");
        assertEq(reg.accessUntil(er, patient, 0, AccessLevel.Write), 0, "emergency is Read only");
        assertEq(reg.accessUntil(er, patient, recLab, AccessLevel.Read), T0 + 3 days, "grant outlasts session");
        assertEq(reg.accessUntil(er2, patient, 0, AccessLevel.Read), T0 + 1 hours, "closed session");
        assertEq(reg.accessUntil(erOnly, patient, 0, AccessLevel.Read), T0 + 20 hours, "licence caps session");
        assertEq(reg.accessUntil(orphan, patient, 0, AccessLevel.Read), 0, "authority removed");
        assertEq(reg.accessUntil(shortLicence, patient, 0, AccessLevel.Admin), T0 + 2 days, "licence caps grant");
        assertEq(reg.accessUntil(suspended, patient, 0, AccessLevel.Read), 0, "suspended");
        assertEq(reg.accessUntil(unverified, patient, 0, AccessLevel.Read), 0, "unverified");
        // state changes move it: an extension, a renewed licence, a reinstatement
        vm.prank(patient);
        reg.extendAccess(patient, doctor, scopeAll(), T0 + 4 days);
        assertEq(reg.accessUntil(doctor, patient, 0, AccessLevel.Read), T0 + 4 days, "extended");
        vm.prank(authority);
        providers.verifyProvider(shortLicence, 1, keccak256("l-short"), T0 + 6 days);
        assertEq(reg.accessUntil(shortLicence, patient, 0, AccessLevel.Admin), T0 + 6 days, "renewed licence");
        vm.prank(authority);
        providers.reinstateProvider(suspended);
        assertEq(reg.accessUntil(suspended, patient, 0, AccessLevel.Write), T0 + 30 days, "reinstated");
    }
}
