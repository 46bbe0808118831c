// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {StudyRegistry} from "../src/StudyRegistry.sol";

contract StudyRegistryTest is Fixture {
    StudyRegistry internal studies;
    bytes32 internal constant SID = keccak256("hba1c-2026");
    bytes32 internal constant PARAMS = keccak256("params");

    function setUp() public override {
        super.setUp();
        studies = new StudyRegistry(IPatientRegistry(address(reg)), IProviderRegistry(address(providers)));
        vm.prank(doctor);
        studies.createStudy(SID, PARAMS);
    }

    function test_constructor_rejects_zero() public {
        vm.expectRevert(StudyRegistry.ZeroAddress.selector);
        new StudyRegistry(IPatientRegistry(address(0)), IProviderRegistry(address(providers)));
    }

    function test_create_rules() public {
        vm.prank(unverified);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.ProviderNotVerified.selector, unverified));
        studies.createStudy(keccak256("x"), PARAMS);
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.StudyExists.selector, SID));
        studies.createStudy(SID, PARAMS);
        vm.prank(doctor2);
        vm.expectRevert(StudyRegistry.InvalidHash.selector);
        studies.createStudy(keccak256("y"), bytes32(0));
        StudyRegistry.Study memory s = studies.studyOf(SID);
        assertEq(s.sponsor, doctor, "sponsor");
        assertEq(s.paramsHash, PARAMS, "params");
        assertEq(s.createdAt, T0, "created");
    }

    function test_consent_and_withdraw() public {
        assertFalse(studies.hasConsent(SID, patient), "no consent yet");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.NotPatientOwner.selector, patient));
        studies.consent(SID, patient, T0 + 30 days);
        vm.prank(patient);
        vm.expectRevert(StudyRegistry.InvalidExpiry.selector);
        studies.consent(SID, patient, T0);
        vm.prank(patient);
        vm.expectEmit(true, true, false, true, address(studies));
        emit StudyRegistry.ConsentGiven(SID, patient, T0 + 30 days, patient);
        studies.consent(SID, patient, T0 + 30 days);
        assertTrue(studies.hasConsent(SID, patient), "consented");
        assertEq(studies.consentUntil(SID, patient), T0 + 30 days, "until");
        vm.warp(T0 + 30 days);
        assertFalse(studies.hasConsent(SID, patient), "expired");
        vm.prank(patient);
        studies.withdraw(SID, patient);
        assertEq(studies.consentUntil(SID, patient), 0, "withdrawn");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.NoConsent.selector, SID, patient));
        studies.withdraw(SID, patient);
    }

    function test_close_and_result() public {
        vm.prank(patient);
        studies.consent(SID, patient, T0 + 30 days);
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.NotSponsor.selector, SID));
        studies.close(SID, keccak256("agg"));
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.StudyOpen.selector, SID));
        studies.publishResult(SID, keccak256("res"));
        vm.prank(doctor);
        studies.close(SID, keccak256("agg"));
        assertFalse(studies.hasConsent(SID, patient), "closed studies take no submissions");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.StudyClosed.selector, SID));
        studies.consent(SID, patient, T0 + 40 days);
        vm.prank(doctor);
        studies.publishResult(SID, keccak256("res"));
        StudyRegistry.Study memory s = studies.studyOf(SID);
        assertEq(s.aggregateHash, keccak256("agg"), "aggregate");
        assertEq(s.resultHash, keccak256("res"), "result");
        vm.expectRevert(abi.encodeWithSelector(StudyRegistry.NoStudy.selector, keccak256("none")));
        studies.studyOf(keccak256("none"));
    }
}
