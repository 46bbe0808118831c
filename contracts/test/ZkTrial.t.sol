// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {ZkTrialFixture} from "./ZkTrialFixture.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {TrialRegistry} from "../src/TrialRegistry.sol";
import {TrialEnrolmentVerifier} from "../src/TrialEnrolmentVerifier.sol";

/// @notice TrialRegistry with real Groth16 trial-enrolment proofs (circuits/fixtures/trial*.json).
contract ZkTrialTest is Fixture {
    TrialRegistry internal trials;

    function setUp() public override {
        super.setUp();
        CredentialRegistry creds = new CredentialRegistry(address(providers));
        trials = new TrialRegistry(address(providers), address(creds), address(new TrialEnrolmentVerifier()));
        vm.startPrank(doctor);
        assertEq(trials.createTrial(keccak256("protocol v1")), ZkTrialFixture.TRIAL, "first trial id");
        trials.addParticipant(ZkTrialFixture.TRIAL, ZkTrialFixture.ID0);
        trials.addParticipant(ZkTrialFixture.TRIAL, ZkTrialFixture.ID1);
        vm.stopPrank();
    }

    function _enrol(uint256[8] memory proof, uint256 root, uint256 nullifier) internal {
        trials.enrol(ZkTrialFixture.TRIAL, proof, root, nullifier);
    }

    function test_tree_matches_circuit_root() public view {
        assertEq(trials.rootOf(ZkTrialFixture.TRIAL), ZkTrialFixture.ROOT, "on-chain trial root = circuit root");
        assertEq(trials.leaf(ZkTrialFixture.TRIAL, 1), ZkTrialFixture.ID1, "leaf 1");
        assertEq(trials.siblings(ZkTrialFixture.TRIAL, 0)[0], ZkTrialFixture.ID1, "sibling of leaf 0");
        assertEq(trials.indexPlusOne(ZkTrialFixture.TRIAL, ZkTrialFixture.ID0), 1, "index of ID0");
    }

    function test_valid_proof_accepted_once() public {
        vm.prank(patient);
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
        assertTrue(trials.nullifierUsed(ZkTrialFixture.TRIAL, ZkTrialFixture.NULLIFIER), "nullifier recorded");
        (,,,,,,, uint256 enrolled) = trials.trials(ZkTrialFixture.TRIAL);
        assertEq(enrolled, 1, "one enrolment");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NullifierUsed.selector, ZkTrialFixture.NULLIFIER));
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
    }

    function test_tampered_public_inputs_rejected() public {
        vm.startPrank(patient);
        vm.expectRevert(TrialRegistry.InvalidProof.selector);
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER + 1);
        uint256[8] memory p = ZkTrialFixture.proof();
        p[0] ^= 1;
        vm.expectRevert(TrialRegistry.InvalidProof.selector);
        _enrol(p, ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
        vm.stopPrank();
        // another trial (same tree content, same sponsor): the trial id is a public input
        vm.startPrank(doctor);
        uint256 t2 = trials.createTrial(keccak256("protocol v2"));
        trials.addParticipant(t2, ZkTrialFixture.ID0);
        trials.addParticipant(t2, ZkTrialFixture.ID1);
        vm.stopPrank();
        assertEq(trials.rootOf(t2), ZkTrialFixture.ROOT, "same root in trial 2");
        vm.prank(patient);
        vm.expectRevert(TrialRegistry.InvalidProof.selector);
        trials.enrol(t2, ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
        assertFalse(trials.nullifierUsed(ZkTrialFixture.TRIAL, ZkTrialFixture.NULLIFIER), "nothing recorded");
    }

    function test_proof_bound_to_sender() public {
        vm.prank(stranger);
        vm.expectRevert(TrialRegistry.InvalidProof.selector);
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
    }

    function test_wrong_root_rejected() public {
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.UnknownRoot.selector, ZkTrialFixture.ROOT + 1));
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT + 1, ZkTrialFixture.NULLIFIER);
    }

    function test_patient_not_in_tree_rejected() public {
        // a valid proof for a tree holding the outsider: its root is not this trial's
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.UnknownRoot.selector, ZkTrialFixture.OUTSIDER_ROOT));
        _enrol(ZkTrialFixture.outsiderProof(), ZkTrialFixture.OUTSIDER_ROOT, ZkTrialFixture.OUTSIDER_NULLIFIER);
        // the same proof presented against the real root fails the pairing
        vm.prank(patient);
        vm.expectRevert(TrialRegistry.InvalidProof.selector);
        _enrol(ZkTrialFixture.outsiderProof(), ZkTrialFixture.ROOT, ZkTrialFixture.OUTSIDER_NULLIFIER);
    }

    function test_removed_participant_rejected() public {
        vm.prank(doctor);
        trials.removeParticipant(ZkTrialFixture.TRIAL, 0, keccak256("withdrew eligibility"));
        assertEq(trials.leaf(ZkTrialFixture.TRIAL, 0), 0, "leaf zeroed");
        assertFalse(trials.isValidRoot(ZkTrialFixture.TRIAL, ZkTrialFixture.ROOT), "pre-removal root invalid");
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.UnknownRoot.selector, ZkTrialFixture.ROOT));
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.AlreadyRemoved.selector, 0));
        trials.removeParticipant(ZkTrialFixture.TRIAL, 0, bytes32(0));
    }

    function test_old_root_accepted_after_insert_until_ttl() public {
        vm.prank(doctor);
        trials.addParticipant(ZkTrialFixture.TRIAL, 777);
        assertTrue(trials.rootOf(ZkTrialFixture.TRIAL) != ZkTrialFixture.ROOT, "root moved");
        assertTrue(trials.isValidRoot(ZkTrialFixture.TRIAL, ZkTrialFixture.ROOT), "recent root valid");
        vm.warp(block.timestamp + 2 hours);
        assertFalse(trials.isValidRoot(ZkTrialFixture.TRIAL, ZkTrialFixture.ROOT), "expired after ROOT_TTL");
    }

    function test_closed_trial_and_suspended_sponsor() public {
        vm.prank(authority);
        providers.suspendProvider(doctor, keccak256("audit"));
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NotVerified.selector, doctor));
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NotVerified.selector, doctor));
        trials.closeTrial(ZkTrialFixture.TRIAL);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.UnknownTrial.selector, 9));
        trials.enrol(9, ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
    }

    function test_close_stops_enrolment() public {
        vm.prank(doctor);
        trials.closeTrial(ZkTrialFixture.TRIAL);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.TrialClosed.selector, ZkTrialFixture.TRIAL));
        _enrol(ZkTrialFixture.proof(), ZkTrialFixture.ROOT, ZkTrialFixture.NULLIFIER);
    }

    function test_access_control() public {
        vm.prank(unverified);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NotVerified.selector, unverified));
        trials.createTrial(bytes32(0));
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NotSponsor.selector, ZkTrialFixture.TRIAL));
        trials.addParticipant(ZkTrialFixture.TRIAL, 5);
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.NotSponsor.selector, ZkTrialFixture.TRIAL));
        trials.removeParticipant(ZkTrialFixture.TRIAL, 0, bytes32(0));
        vm.startPrank(doctor);
        vm.expectRevert(TrialRegistry.InvalidCommitment.selector);
        trials.addParticipant(ZkTrialFixture.TRIAL, 0);
        vm.expectRevert(TrialRegistry.InvalidCommitment.selector);
        trials.addParticipant(ZkTrialFixture.TRIAL, ZkTrialFixture.ID0);
        vm.expectRevert(abi.encodeWithSelector(TrialRegistry.UnknownParticipant.selector, 5));
        trials.removeParticipant(ZkTrialFixture.TRIAL, 5, bytes32(0));
        vm.stopPrank();
    }
}
