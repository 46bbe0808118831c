// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {ZkFixture} from "./ZkFixture.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {ResearchAccess} from "../src/ResearchAccess.sol";
import {ProviderCredentialVerifier} from "../src/ProviderCredentialVerifier.sol";
import {AgeCredentialVerifier} from "../src/AgeCredentialVerifier.sol";

/// @notice CredentialRegistry + ResearchAccess with real Groth16 proofs (circuits/fixtures).
contract ZkCredentialsTest is Fixture {
    CredentialRegistry internal creds;
    ResearchAccess internal access;

    function setUp() public override {
        super.setUp();
        creds = new CredentialRegistry(address(providers));
        access = new ResearchAccess(
            address(creds), address(new ProviderCredentialVerifier()), address(new AgeCredentialVerifier())
        );
        vm.startPrank(authority);
        creds.addCredential(doctor, ZkFixture.ID0, ZkFixture.ROLE, ZkFixture.EXPIRY);
        creds.addCredential(doctor2, ZkFixture.ID1, ZkFixture.ROLE, ZkFixture.EXPIRY);
        creds.setAttester(ZkFixture.ATTESTER_X, ZkFixture.ATTESTER_Y, true);
        vm.stopPrank();
        vm.warp(ZkFixture.TIME + 5);
    }

    function _use(uint256[8] memory proof, uint256 root, uint256 role, uint256 nullifier) internal {
        access.useCredential(proof, root, role, ZkFixture.TIME, ZkFixture.SCOPE, nullifier);
    }

    /// Known answers of circomlib's Poseidon (the widely published vectors Poseidon(1, 2)
    /// and Poseidon(1, 2, 3), e.g. in circomlib's and poseidon-ark's tests).
    function test_poseidon_known_answers() public view {
        assertEq(
            creds.poseidon2().poseidon([uint256(1), 2]),
            7853200120776062878684798364095072458815029376092732009249414926327459813530,
            "Poseidon(1, 2)"
        );
        assertEq(
            creds.poseidon3().poseidon([uint256(1), 2, 3]),
            6542985608222806190361240322586112750744169038454362455181422643027100751666,
            "Poseidon(1, 2, 3)"
        );
    }

    function test_tree_matches_circuit_root() public view {
        assertEq(creds.root(), ZkFixture.ROOT, "on-chain Poseidon tree root = circuit root");
        assertEq(creds.nextIndex(), 2, "two leaves");
        uint256[20] memory s = creds.siblings(0);
        assertEq(s[0], creds.leaf(1), "sibling of leaf 0 is leaf 1");
    }

    function test_valid_proof_accepted_once() public {
        vm.prank(doctor);
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
        assertTrue(access.nullifierUsed(ZkFixture.NULLIFIER0), "nullifier recorded");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.NullifierUsed.selector, ZkFixture.NULLIFIER0));
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
        // The other credential in the same scope has its own nullifier.
        vm.prank(doctor);
        _use(ZkFixture.proof1(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER1);
    }

    function test_tampered_public_inputs_rejected() public {
        vm.startPrank(doctor);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE + 1, ZkFixture.NULLIFIER0);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0 + 1);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        access.useCredential(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.TIME, ZkFixture.SCOPE + 1, ZkFixture.NULLIFIER0);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        access.useCredential(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.TIME - 1, ZkFixture.SCOPE, ZkFixture.NULLIFIER0);
        uint256[8] memory p = ZkFixture.proof0();
        p[7] ^= 1;
        vm.expectRevert(ResearchAccess.InvalidProof.selector); // C off the curve: the precompile fails, the verifier says false
        _use(p, ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
        vm.stopPrank();
        assertFalse(access.nullifierUsed(ZkFixture.NULLIFIER0), "nothing recorded");
    }

    function test_proof_bound_to_sender() public {
        vm.prank(stranger);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
    }

    function test_wrong_root_rejected() public {
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.UnknownRoot.selector, ZkFixture.ROOT + 1));
        _use(ZkFixture.proof0(), ZkFixture.ROOT + 1, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
    }

    function test_stale_time_rejected() public {
        vm.warp(ZkFixture.TIME + 2 hours);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.StaleTime.selector, ZkFixture.TIME, ZkFixture.TIME + 2 hours));
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
    }

    function test_old_root_accepted_after_insert_until_ttl() public {
        vm.prank(authority);
        creds.addCredential(er, 12345, ZkFixture.ROLE, ZkFixture.EXPIRY);
        assertTrue(creds.root() != ZkFixture.ROOT, "root moved");
        assertTrue(creds.isValidRoot(ZkFixture.ROOT), "recent root still valid");
        vm.prank(doctor);
        _use(ZkFixture.proof0(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER0);
        vm.warp(block.timestamp + 2 hours);
        assertFalse(creds.isValidRoot(ZkFixture.ROOT), "expired after ROOT_TTL");
    }

    function test_revoked_credential_rejected() public {
        vm.prank(authority);
        creds.revokeCredential(1, keccak256("lost licence"));
        assertEq(creds.leaf(1), 0, "leaf zeroed");
        assertFalse(creds.isValidRoot(ZkFixture.ROOT), "pre-revocation root invalid");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.UnknownRoot.selector, ZkFixture.ROOT));
        _use(ZkFixture.proof1(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER1);
        vm.prank(authority);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyRevoked.selector, 1));
        creds.revokeCredential(1, bytes32(0));
    }

    function test_suspended_provider_revoked_by_anyone() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.StillVerified.selector, 1));
        creds.revokeUnverified(1);
        vm.prank(authority);
        providers.suspendProvider(doctor2, keccak256("under investigation"));
        vm.prank(stranger);
        creds.revokeUnverified(1);
        assertEq(creds.holder(1), doctor2, "holder recorded");
        assertFalse(creds.isValidRoot(ZkFixture.ROOT), "pre-suspension root invalid");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.UnknownRoot.selector, ZkFixture.ROOT));
        _use(ZkFixture.proof1(), ZkFixture.ROOT, ZkFixture.ROLE, ZkFixture.NULLIFIER1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyRevoked.selector, 1));
        creds.revokeUnverified(1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownCredential.selector, 5));
        creds.revokeUnverified(5);
    }

    function test_registry_access_control() public {
        vm.prank(stranger);
        vm.expectRevert(CredentialRegistry.NotAuthority.selector);
        creds.addCredential(doctor, 1, 1, ZkFixture.EXPIRY);
        vm.prank(stranger);
        vm.expectRevert(CredentialRegistry.NotAuthority.selector);
        creds.revokeCredential(0, bytes32(0));
        vm.startPrank(authority);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ProviderNotVerified.selector, unverified));
        creds.addCredential(unverified, 7, 1, ZkFixture.EXPIRY);
        vm.expectRevert(CredentialRegistry.InvalidCommitment.selector);
        creds.addCredential(doctor, 0, 1, ZkFixture.EXPIRY);
        vm.expectRevert(CredentialRegistry.InvalidRole.selector);
        creds.addCredential(doctor, 7, 0, ZkFixture.EXPIRY);
        vm.expectRevert(CredentialRegistry.InvalidExpiry.selector);
        creds.addCredential(doctor, 7, 1, uint64(block.timestamp));
        vm.expectRevert(CredentialRegistry.InvalidCommitment.selector);
        creds.addCredential(doctor, ZkFixture.ID0, ZkFixture.ROLE, ZkFixture.EXPIRY); // same leaf twice
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownCredential.selector, 9));
        creds.revokeCredential(9, bytes32(0));
        vm.stopPrank();
    }

    function test_age_proof() public {
        assertEq(access.dateOf(ZkFixture.TIME), ZkFixture.TODAY, "date of T0");
        assertEq(access.dateOf(951782400), 20000229, "leap day");
        assertEq(access.dateOf(0), 19700101, "epoch");
        vm.startPrank(doctor);
        vm.expectRevert(ResearchAccess.InvalidProof.selector);
        access.useAgeProof(ZkFixture.ageProof(), ZkFixture.ATTESTER_X, ZkFixture.ATTESTER_Y, ZkFixture.TODAY, 21, ZkFixture.AGE_SCOPE, ZkFixture.AGE_NULLIFIER);
        access.useAgeProof(ZkFixture.ageProof(), ZkFixture.ATTESTER_X, ZkFixture.ATTESTER_Y, ZkFixture.TODAY, ZkFixture.MIN_AGE, ZkFixture.AGE_SCOPE, ZkFixture.AGE_NULLIFIER);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.NullifierUsed.selector, ZkFixture.AGE_NULLIFIER));
        access.useAgeProof(ZkFixture.ageProof(), ZkFixture.ATTESTER_X, ZkFixture.ATTESTER_Y, ZkFixture.TODAY, ZkFixture.MIN_AGE, ZkFixture.AGE_SCOPE, ZkFixture.AGE_NULLIFIER);
        vm.expectRevert(ResearchAccess.UnknownAttester.selector);
        access.useAgeProof(ZkFixture.ageProof(), ZkFixture.ATTESTER_X + 1, ZkFixture.ATTESTER_Y, ZkFixture.TODAY, ZkFixture.MIN_AGE, ZkFixture.AGE_SCOPE, ZkFixture.AGE_NULLIFIER);
        vm.stopPrank();
        vm.warp(ZkFixture.TIME + 3 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(ResearchAccess.NotToday.selector, ZkFixture.TODAY, 20231117));
        access.useAgeProof(ZkFixture.ageProof(), ZkFixture.ATTESTER_X, ZkFixture.ATTESTER_Y, ZkFixture.TODAY, ZkFixture.MIN_AGE, ZkFixture.AGE_SCOPE, 1);
    }
}
