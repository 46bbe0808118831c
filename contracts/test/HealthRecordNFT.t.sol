// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";

contract HealthRecordNFTTest is Fixture {
    function test_constructor_rejects_zero() public {
        vm.expectRevert(HealthRecordNFT.ZeroAddress.selector);
        new HealthRecordNFT(IPatientRegistry(address(0)), IProviderRegistry(address(providers)), IAuditTrail(address(audit)));
    }

    function test_mint_and_views() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        vm.expectEmit(true, true, true, true, address(nft));
        emit HealthRecordNFT.Transfer(address(0), patient, 1);
        vm.expectEmit(false, false, false, true, address(nft));
        emit HealthRecordNFT.Locked(1);
        uint256 id = _mint(doctor, RecordType.Vaccination, 0);
        assertEq(id, 1, "first id");
        assertEq(nft.ownerOf(id), patient, "owner");
        assertEq(nft.balanceOf(patient), 1, "balance");
        assertEq(nft.totalMinted(), 1, "total");
        assertTrue(nft.locked(id), "locked");
        assertTrue(nft.isMilestone(id), "vaccination is a milestone");
        assertEq(nft.tokenURI(id), string.concat("ipfs://", CID1), "tokenURI");
        assertEq(nft.name(), "PHR Health Record", "name");
        assertEq(nft.symbol(), "PHR", "symbol");
        assertEq(nft.getApproved(id), address(0), "no approval");
        assertFalse(nft.isApprovedForAll(patient, doctor), "no operator");
        HealthRecordNFT.Record memory r = nft.recordOf(id);
        assertEq(r.dataHash, HASH1, "hash");
        assertEq(r.provider, doctor, "provider");
        assertEq(r.createdAt, T0, "createdAt");
        (address p, RecordType t, bool live) = nft.recordInfo(id);
        assertEq(p, patient, "info patient");
        assertEq(uint256(t), uint256(RecordType.Vaccination), "info type");
        assertTrue(live, "live");
        uint256 lab = _mint(doctor, RecordType.LabResult, 0);
        assertFalse(nft.isMilestone(lab), "lab is not a milestone");
        assertEq(audit.countOf(patient), 3, "share + 2 creates audited");
    }

    function test_erc165() public view {
        assertTrue(nft.supportsInterface(0x01ffc9a7), "165");
        assertTrue(nft.supportsInterface(0x80ac58cd), "721");
        assertTrue(nft.supportsInterface(0x5b5e139f), "721 metadata");
        assertTrue(nft.supportsInterface(0xb45a3c0e), "5192");
        assertFalse(nft.supportsInterface(0xffffffff), "none");
    }

    function test_locked_token_cannot_move() public {
        uint256 id = _grantAndMint();
        vm.startPrank(patient);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TokenLocked.selector, id));
        nft.transferFrom(patient, stranger, id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TokenLocked.selector, id));
        nft.safeTransferFrom(patient, stranger, id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TokenLocked.selector, id));
        nft.safeTransferFrom(patient, stranger, id, "");
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TokenLocked.selector, id));
        nft.approve(stranger, id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TokenLocked.selector, 0));
        nft.setApprovalForAll(stranger, true);
        vm.stopPrank();
        assertEq(nft.ownerOf(id), patient, "still the patient's");
    }

    function test_mint_rejections() public {
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NotRegistered.selector, stranger));
        nft.mintRecord(stranger, HASH1, CID1, RecordType.General, 0);
        vm.prank(unverified);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.ProviderNotVerified.selector, unverified));
        nft.mintRecord(patient, HASH1, CID1, RecordType.General, 0);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor, patient));
        nft.mintRecord(patient, HASH1, CID1, RecordType.General, 0);
        _grant(doctor, AccessLevel.Read, scopeAll(), T0 + 1 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor, patient));
        nft.mintRecord(patient, HASH1, CID1, RecordType.General, 0);
        _grant(doctor, AccessLevel.Write, scopeCat(RecordType.Imaging), T0 + 1 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor, patient));
        nft.mintRecord(patient, HASH1, CID1, RecordType.LabResult, 0);
        vm.prank(doctor);
        nft.mintRecord(patient, HASH1, CID1, RecordType.Imaging, 0);
        vm.startPrank(doctor);
        vm.expectRevert(HealthRecordNFT.InvalidDataHash.selector);
        nft.mintRecord(patient, bytes32(0), CID1, RecordType.Imaging, 0);
        vm.expectRevert(HealthRecordNFT.InvalidCid.selector);
        nft.mintRecord(patient, HASH1, "", RecordType.Imaging, 0);
        vm.expectRevert(HealthRecordNFT.InvalidCid.selector);
        nft.mintRecord(patient, HASH1, "bafy/../x", RecordType.Imaging, 0);
        vm.stopPrank();
        vm.warp(T0 + 1 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor, patient));
        nft.mintRecord(patient, HASH1, CID1, RecordType.Imaging, 0);
    }

    function test_supersede_chain() public {
        uint256 v1 = _grantAndMint();
        vm.expectEmit(true, true, false, false, address(nft));
        emit HealthRecordNFT.RecordSuperseded(v1, v1 + 1);
        vm.prank(doctor);
        uint256 v2 = nft.mintRecord(patient, keccak256("v2"), CID2, RecordType.Vaccination, v1);
        assertEq(nft.recordOf(v1).supersededBy, v2, "forward link");
        assertEq(nft.recordOf(v2).supersedes, v1, "back link");
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.AlreadySuperseded.selector, v1, v2));
        nft.mintRecord(patient, HASH1, CID1, RecordType.Vaccination, v1);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.TypeMismatch.selector, v2));
        nft.mintRecord(patient, HASH1, CID1, RecordType.LabResult, v2);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, 77));
        nft.mintRecord(patient, HASH1, CID1, RecordType.Vaccination, 77);
        vm.prank(patient2);
        reg.register(KEY);
        vm.prank(patient2);
        reg.grantAccess(patient2, doctor, AccessLevel.Write, scopeAll(), T0 + 1 days);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.WrongPatient.selector, v2));
        nft.mintRecord(patient2, HASH1, CID1, RecordType.Vaccination, v2);
        // write on a record scope alone allows amending exactly that record
        _grant(doctor2, AccessLevel.Write, scopeRec(v2), T0 + 1 days);
        vm.prank(doctor2);
        uint256 v3 = nft.mintRecord(patient, keccak256("v3"), CID2, RecordType.Vaccination, v2);
        assertEq(nft.recordOf(v3).supersedes, v2, "v3 amends v2");
        vm.prank(doctor2);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor2, patient));
        nft.mintRecord(patient, HASH1, CID1, RecordType.Vaccination, 0);
    }

    function _entry(address p, bytes32 h, RecordType t, uint256 sup, string memory cid)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(p, h, uint8(t), sup, uint8(bytes(cid).length), cid);
    }

    function test_mint_records_batch() public {
        uint256 v1 = _grantAndMint();
        bytes memory entries = bytes.concat(
            _entry(patient, keccak256("b1"), RecordType.LabResult, 0, CID1),
            _entry(patient, keccak256("b2"), RecordType.Vaccination, v1, CID2),
            _entry(patient, keccak256("b3"), RecordType.Imaging, 0, "bafyshort")
        );
        vm.expectEmit(true, true, true, true, address(nft));
        emit HealthRecordNFT.RecordMinted(v1 + 1, patient, doctor, RecordType.LabResult, keccak256("b1"), CID1, 0);
        vm.prank(doctor);
        uint256 first = nft.mintRecords(entries);
        assertEq(first, v1 + 1, "first id");
        assertEq(nft.totalMinted(), v1 + 3, "three more");
        assertEq(nft.balanceOf(patient), 4, "balance");
        HealthRecordNFT.Record memory r = nft.recordOf(first + 1);
        assertEq(r.supersedes, v1, "second amends v1");
        assertEq(r.dataHash, keccak256("b2"), "second hash");
        assertEq(r.cid, CID2, "second cid");
        assertEq(nft.recordOf(v1).supersededBy, first + 1, "forward link");
        assertEq(nft.recordOf(first + 2).cid, "bafyshort", "third cid");
        assertEq(uint256(nft.recordOf(first + 2).recordType), uint256(RecordType.Imaging), "third type");
        assertEq(audit.countOf(patient), 5, "share + create + 3 batch entries audited");
    }

    function test_mint_records_rejections() public {
        uint256 v1 = _grantAndMint();
        bytes memory good = _entry(patient, HASH1, RecordType.LabResult, 0, CID1);
        vm.startPrank(doctor);
        vm.expectRevert(HealthRecordNFT.WrongBatch.selector);
        nft.mintRecords("");
        // truncated head, truncated CID, trailing byte, record type out of range
        vm.expectRevert(HealthRecordNFT.WrongBatch.selector);
        nft.mintRecords(bytes.concat(good, hex"01"));
        bytes memory shortCid = _entry(patient, HASH1, RecordType.LabResult, 0, CID1);
        assembly { mstore(shortCid, sub(mload(shortCid), 1)) }
        vm.expectRevert(HealthRecordNFT.WrongBatch.selector);
        nft.mintRecords(shortCid);
        bytes memory badType = _entry(patient, HASH1, RecordType.LabResult, 0, CID1);
        badType[52] = 0xff;
        vm.expectRevert(HealthRecordNFT.WrongBatch.selector);
        nft.mintRecords(badType);
        // one bad record (amends v1 twice) reverts the whole batch with its error
        bytes memory twice = bytes.concat(
            _entry(patient, HASH1, RecordType.Vaccination, v1, CID1),
            _entry(patient, HASH1, RecordType.Vaccination, v1, CID2)
        );
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.AlreadySuperseded.selector, v1, v1 + 1));
        nft.mintRecords(twice);
        vm.expectRevert(HealthRecordNFT.InvalidCid.selector);
        nft.mintRecords(bytes.concat(good, _entry(patient, HASH1, RecordType.LabResult, 0, "a/b")));
        // more than MAX_MINT_BATCH
        bytes memory many;
        for (uint256 i = 0; i <= nft.MAX_MINT_BATCH(); i++) many = bytes.concat(many, good);
        vm.expectRevert(HealthRecordNFT.WrongBatch.selector);
        nft.mintRecords(many);
        vm.stopPrank();
        assertEq(nft.totalMinted(), v1, "nothing minted");
        // checks per record: a stranger and an unverified provider are refused
        vm.prank(unverified);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.ProviderNotVerified.selector, unverified));
        nft.mintRecords(good);
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NotRegistered.selector, stranger));
        nft.mintRecords(_entry(stranger, HASH1, RecordType.LabResult, 0, CID1));
    }

    function test_burn_for_erasure() public {
        uint256 id = _grantAndMint();
        vm.prank(doctor);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NotPatientOwner.selector, patient));
        nft.burn(id);
        vm.expectEmit(true, true, true, true, address(nft));
        emit HealthRecordNFT.Transfer(patient, address(0), id);
        vm.prank(patient);
        nft.burn(id);
        assertEq(nft.balanceOf(patient), 0, "balance");
        (,, bool live) = nft.recordInfo(id);
        assertFalse(live, "gone");
        assertFalse(reg.canAccess(doctor, patient, id, AccessLevel.Read), "no access to burned");
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.ownerOf(id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.tokenURI(id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.recordOf(id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.locked(id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.isMilestone(id);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.getApproved(id);
        vm.prank(patient);
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, id));
        nft.burn(id);
        vm.expectRevert(HealthRecordNFT.ZeroAddress.selector);
        nft.balanceOf(address(0));
    }
}
