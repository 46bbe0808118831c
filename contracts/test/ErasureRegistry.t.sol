// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {ErasureRegistry} from "../src/ErasureRegistry.sol";

contract ErasureRegistryTest is Fixture {
    ErasureRegistry internal er_;
    address internal holder = vm.addr(0xa01);
    address internal node1 = vm.addr(0xb01);
    address internal node2 = vm.addr(0xb02);
    bytes32 internal constant REASON = keccak256("litigation 2026-17");

    function setUp() public override {
        super.setUp();
        er_ = new ErasureRegistry(address(nft), address(reg), address(this));
        er_.setHoldAuthority(holder, true);
    }

    function test_constructor_rejects_zero() public {
        vm.expectRevert(ErasureRegistry.ZeroAddress.selector);
        new ErasureRegistry(address(0), address(reg), address(this));
    }

    function test_request_confirm_burn() public {
        uint256 id = _grantAndMint();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NotPatientOwner.selector, patient));
        er_.request(id);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NoRequest.selector, id));
        er_.confirm(id);
        vm.prank(patient);
        er_.request(id);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.AlreadyRequested.selector, id));
        er_.request(id);
        vm.prank(node1);
        er_.confirm(id);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.AlreadyConfirmed.selector, id, node1));
        er_.confirm(id);
        vm.prank(node2);
        er_.confirm(id);
        (address p, address by, uint64 when, uint32 n, bytes32 hold) = er_.requestOf(id);
        assertEq(p, patient, "patient");
        assertEq(by, patient, "requester");
        assertEq(when, T0, "time");
        assertEq(n, 2, "confirmations");
        assertEq(hold, bytes32(0), "no hold");
        vm.prank(patient);
        nft.burn(id);
        // a burnt token cannot be requested again
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NoLiveRecord.selector, id));
        er_.request(id);
    }

    function test_legal_hold_blocks_until_released() public {
        uint256 id = _grantAndMint();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.NotHoldAuthority.selector, stranger));
        er_.setHold(id, REASON);
        vm.prank(holder);
        vm.expectRevert(ErasureRegistry.EmptyReason.selector);
        er_.setHold(id, bytes32(0));
        vm.prank(holder);
        er_.setHold(id, REASON);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.UnderLegalHold.selector, id, REASON));
        er_.request(id);
        vm.prank(holder);
        er_.releaseHold(id, keccak256("case closed"));
        vm.prank(patient);
        er_.request(id);
        // a hold placed after the request stops confirmations
        vm.prank(holder);
        er_.setHold(id, REASON);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(ErasureRegistry.UnderLegalHold.selector, id, REASON));
        er_.confirm(id);
    }

    function test_only_governance_appoints() public {
        vm.prank(stranger);
        vm.expectRevert(ErasureRegistry.NotGovernance.selector);
        er_.setHoldAuthority(stranger, true);
        assertTrue(er_.holdAuthority(address(this)), "governance holds");
    }
}
