// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./utils/Fixture.sol";
import {Vm} from "./utils/Test.sol";

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

    // ------------------------------------------------------------------ mintRecords = mintRecord in a loop

    struct E {
        address p;
        bytes32 h;
        RecordType t;
        uint256 sup;
        string cid;
    }

    function _pack(E[] memory es) internal pure returns (bytes memory b) {
        for (uint256 i = 0; i < es.length; i++) b = bytes.concat(b, _entry(es[i].p, es[i].h, es[i].t, es[i].sup, es[i].cid));
    }

    function _logsHash(Vm.Log[] memory logs) internal pure returns (bytes32 h) {
        for (uint256 i = 0; i < logs.length; i++) {
            h = keccak256(abi.encode(h, logs[i].emitter, logs[i].topics, logs[i].data));
        }
    }

    /// Runs es from `by` once as mintRecord calls in order (stopping at the first failure) and
    /// once as one mintRecords; both must end the same way: the same revert data, or the same
    /// logs (emitter, topics, data), token ids and audit heads. Returns the revert data ("" on
    /// success). State is left as before the call.
    function _sameAsSingles(address by, E[] memory es) internal returns (bytes memory err) {
        uint256 snap = vm.snapshotState();
        uint256 before = nft.totalMinted();
        vm.recordLogs();
        vm.startPrank(by);
        bool ok = true;
        for (uint256 i = 0; i < es.length && ok; i++) {
            (ok, err) = address(nft).call(
                abi.encodeCall(HealthRecordNFT.mintRecord, (es[i].p, es[i].h, es[i].cid, es[i].t, es[i].sup))
            );
        }
        vm.stopPrank();
        bytes32 singleLogs = _logsHash(vm.getRecordedLogs());
        bytes32 singleHead = audit.headOf(patient) ^ audit.headOf(patient2);
        bytes32 singleRecords = _recordsHash(before + 1, nft.totalMinted());
        vm.revertToState(snap);

        vm.recordLogs();
        vm.prank(by);
        (bool okBatch, bytes memory out) = address(nft).call(abi.encodeCall(HealthRecordNFT.mintRecords, (_pack(es))));
        bytes32 batchLogs = _logsHash(vm.getRecordedLogs());
        assertTrue(ok == okBatch, "batch and singles agree on success");
        if (ok) {
            assertEq(abi.decode(out, (uint256)), before + 1, "first id");
            assertEq(nft.totalMinted(), before + es.length, "all minted");
            assertEq(batchLogs, singleLogs, "same events");
            assertEq(audit.headOf(patient) ^ audit.headOf(patient2), singleHead, "same audit chains");
            assertEq(_recordsHash(before + 1, nft.totalMinted()), singleRecords, "same records");
            err = "";
        } else {
            assertEq(keccak256(out), keccak256(err), "same error");
            assertEq(nft.totalMinted(), before, "nothing minted");
        }
        vm.revertToState(snap);
    }

    /// recordOf and tokenURI of tokens from..to, and recordOf of the tokens they amend.
    function _recordsHash(uint256 from, uint256 to) internal view returns (bytes32 h) {
        for (uint256 id = from; id <= to; id++) {
            HealthRecordNFT.Record memory r = nft.recordOf(id);
            h = keccak256(abi.encode(h, r, nft.tokenURI(id)));
            if (r.supersedes != 0) h = keccak256(abi.encode(h, nft.recordOf(r.supersedes)));
        }
    }

    function _setUpTwoPatients() internal returns (uint256 v1) {
        v1 = _grantAndMint(); // doctor: Write on all of patient's records
        vm.prank(patient2);
        reg.register(KEY);
        vm.prank(patient2);
        reg.grantAccess(patient2, doctor, AccessLevel.Write, scopeCat(RecordType.LabResult), T0 + 1 days);
    }

    function _good(address p, RecordType t, uint256 i) internal pure returns (E memory) {
        return E(p, keccak256(abi.encode("entry", i)), t, 0, i % 2 == 0 ? CID1 : CID2);
    }

    function test_mint_records_same_events_as_singles() public {
        uint256 v1 = _setUpTwoPatients();
        E[] memory es = new E[](7);
        es[0] = _good(patient, RecordType.LabResult, 0);
        es[1] = _good(patient, RecordType.Imaging, 1);
        es[2] = _good(patient2, RecordType.LabResult, 2);
        es[3] = _good(patient, RecordType.LabResult, 3);
        es[4] = E(patient, keccak256("amend v1"), RecordType.Vaccination, v1, CID2);
        es[5] = E(patient, keccak256("amend the batch's first"), RecordType.LabResult, v1 + 1, "Zz09");
        es[6] = _good(patient2, RecordType.LabResult, 6);
        bytes memory err = _sameAsSingles(doctor, es);
        assertEq(err.length, 0, "succeeds");
        // a full batch of one patient and type
        E[] memory full = new E[](nft.MAX_MINT_BATCH());
        for (uint256 i = 0; i < full.length; i++) full[i] = _good(patient, RecordType.General, i);
        assertEq(_sameAsSingles(doctor, full).length, 0, "full batch succeeds");
    }

    /// A batch whose k-th entry fails reverts with that entry's error, for every check and
    /// for k at the start, in the middle (same patient and type as the entries before, so
    /// after the answers the batch keeps) and at the end.
    function test_mint_records_kth_entry_error() public {
        uint256 v1 = _setUpTwoPatients();
        address patient3 = vm.addr(0x503);
        vm.prank(patient3);
        reg.register(KEY); // registered, no grant
        string memory longCid = string(new bytes(129));
        bytes memory bad = bytes(CID1);
        bad[40] = "-";
        E[] memory bads = new E[](12);
        bads[0] = E(stranger, HASH1, RecordType.LabResult, 0, CID1); // NotRegistered
        bads[1] = E(patient, bytes32(0), RecordType.LabResult, 0, CID1); // InvalidDataHash
        bads[2] = E(patient, HASH1, RecordType.LabResult, 0, string(bad)); // InvalidCid (second word)
        bads[3] = E(patient, HASH1, RecordType.LabResult, 0, ""); // InvalidCid (empty)
        bads[4] = E(patient, HASH1, RecordType.LabResult, 0, longCid); // InvalidCid (too long)
        bads[5] = E(patient2, HASH1, RecordType.Imaging, 0, CID1); // NoWriteAccess (category not granted)
        bads[6] = E(patient3, HASH1, RecordType.LabResult, 0, CID1); // NoWriteAccess (no grant)
        bads[7] = E(patient, HASH1, RecordType.LabResult, 99, CID1); // NonexistentToken
        bads[8] = E(patient2, HASH1, RecordType.Vaccination, v1, CID1); // WrongPatient
        bads[9] = E(patient, HASH1, RecordType.LabResult, v1, CID1); // TypeMismatch
        bads[10] = E(patient, HASH1, RecordType.Vaccination, v1, CID1); // AlreadySuperseded (entry 0 amends v1)
        bads[11] = E(patient2, HASH1, RecordType.LabResult, 0, "a.b"); // InvalidCid (bad byte, first word)
        for (uint256 b = 0; b < bads.length; b++) {
            for (uint256 k = 0; k < 4; k++) {
                if (b == 10 && k == 0) continue; // needs the amendment before it
                E[] memory es = new E[](k == 3 ? 3 : 5);
                for (uint256 i = 0; i < es.length; i++) es[i] = _good(bads[b].p == patient2 ? patient2 : patient, RecordType.LabResult, i);
                if (b == 10) es[0] = E(patient, keccak256("first amend"), RecordType.Vaccination, v1, CID1);
                uint256 idx = k == 3 ? 2 : k;
                es[idx] = bads[b];
                bytes memory err = _sameAsSingles(doctor, es);
                assertTrue(err.length >= 4, "fails");
            }
        }
        // an unverified provider: its first entry's registration check comes first
        E[] memory u = new E[](2);
        u[0] = _good(patient, RecordType.LabResult, 0);
        u[1] = _good(stranger, RecordType.LabResult, 1);
        assertEq(keccak256(_sameAsSingles(unverified, u)), keccak256(abi.encodeWithSelector(HealthRecordNFT.ProviderNotVerified.selector, unverified)), "unverified");
        u[0] = E(stranger, bytes32(0), RecordType.LabResult, 0, "");
        assertEq(keccak256(_sameAsSingles(unverified, u)), keccak256(abi.encodeWithSelector(HealthRecordNFT.NotRegistered.selector, stranger)), "unregistered first");
        u[0] = E(patient, bytes32(0), RecordType.LabResult, 0, "");
        assertEq(keccak256(_sameAsSingles(unverified, u)), keccak256(abi.encodeWithSelector(HealthRecordNFT.ProviderNotVerified.selector, unverified)), "unverified before hash");
        // the patient changes back and forth: each run asks again
        E[] memory alt = new E[](4);
        alt[0] = _good(patient, RecordType.Imaging, 0);
        alt[1] = _good(patient2, RecordType.LabResult, 1);
        alt[2] = _good(patient, RecordType.Imaging, 2);
        alt[3] = _good(patient2, RecordType.Imaging, 3);
        assertEq(keccak256(_sameAsSingles(doctor, alt)), keccak256(abi.encodeWithSelector(HealthRecordNFT.NoWriteAccess.selector, doctor, patient2)), "alternating");
    }

    function _isAlnum(uint8 c) internal pure returns (bool) {
        return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    }

    /// The CID check accepts exactly the ASCII letters and digits, at any position of any
    /// length 1..128: every byte value at the first and last byte of a word and of the CID.
    function test_cid_charset() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        vm.startPrank(doctor);
        uint256 minted = nft.totalMinted();
        uint256[6] memory pos = [uint256(0), 1, 31, 32, 33, 58];
        for (uint256 c = 0; c < 256; c++) {
            for (uint256 j = 0; j < pos.length; j++) {
                bytes memory cid = bytes(CID1);
                cid[pos[j]] = bytes1(uint8(c));
                (bool ok,) = address(nft).call(
                    abi.encodeCall(HealthRecordNFT.mintRecord, (patient, HASH1, string(cid), RecordType.General, 0))
                );
                assertTrue(ok == _isAlnum(uint8(c)), "charset");
                if (ok) minted++;
            }
        }
        for (uint256 len = 0; len <= 130; len++) {
            bytes memory cid = new bytes(len);
            for (uint256 i = 0; i < len; i++) cid[i] = bytes1(uint8(0x30 + (i * 7) % 75));
            bool expect = len >= 1 && len <= 128;
            for (uint256 i = 0; i < len; i++) expect = expect && _isAlnum(uint8(cid[i]));
            (bool ok,) = address(nft).call(
                abi.encodeCall(HealthRecordNFT.mintRecord, (patient, HASH1, string(cid), RecordType.General, 0))
            );
            assertTrue(ok == expect, "length");
            if (ok) minted++;
            for (uint256 i = 0; i < len; i++) cid[i] = "z";
            (ok,) = address(nft).call(
                abi.encodeCall(HealthRecordNFT.mintRecord, (patient, HASH1, string(cid), RecordType.General, 0))
            );
            assertTrue(ok == (len >= 1 && len <= 128), "length, all letters");
            if (ok) minted++;
        }
        vm.stopPrank();
        assertEq(nft.totalMinted(), minted, "one token per accepted CID");
    }

    /// CIDs of every length class around the 32-byte words, side by side in one batch (the bytes
    /// after a CID in the calldata are the next entry's and must not be kept): recordOf and
    /// tokenURI give each back exactly, an amendment keeps its link, and burn leaves every
    /// slot of the record zero.
    function test_record_storage_round_trip_and_burn_clears() public {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        uint256[9] memory lens = [uint256(1), 2, 31, 32, 33, 59, 64, 65, 128];
        E[] memory es = new E[](lens.length);
        for (uint256 i = 0; i < lens.length; i++) {
            bytes memory cid = new bytes(lens[i]);
            for (uint256 j = 0; j < cid.length; j++) cid[j] = bytes1(uint8(0x41 + (i * 5 + j) % 26));
            es[i] = E(patient, keccak256(abi.encode(i)), RecordType(i % 10), 0, string(cid));
        }
        vm.prank(doctor);
        uint256 first = nft.mintRecords(_pack(es));
        for (uint256 i = 0; i < lens.length; i++) {
            HealthRecordNFT.Record memory r = nft.recordOf(first + i);
            assertEq(r.cid, es[i].cid, "cid");
            assertEq(nft.tokenURI(first + i), string.concat("ipfs://", es[i].cid), "uri");
            assertEq(r.patient, patient, "patient");
            assertEq(uint256(r.recordType), i % 10, "type");
            assertEq(r.createdAt, T0, "time");
            assertEq(r.provider, doctor, "provider");
            assertEq(r.dataHash, keccak256(abi.encode(i)), "hash");
            assertEq(r.supersedes, 0, "supersedes");
            assertEq(r.supersededBy, 0, "supersededBy");
            // the CID's words hold its bytes and zeros after them, nothing of the next entry
            bytes32 b = keccak256(abi.encode(first + i, uint256(1)));
            bytes memory padded = bytes.concat(bytes(es[i].cid), new bytes(128 - lens[i]));
            for (uint256 k = 0; k < 4; k++) {
                bytes32 want;
                assembly { want := mload(add(add(padded, 32), mul(k, 32))) }
                assertEq(vm.load(address(nft), bytes32(uint256(b) + 4 + k)), want, "CID word");
            }
        }
        vm.prank(doctor);
        uint256 amend = nft.mintRecord(patient, HASH1, CID2, RecordType(8 % 10), first + 8);
        assertEq(nft.recordOf(amend).supersedes, first + 8, "back link");
        assertEq(nft.recordOf(first + 8).supersededBy, amend, "forward link");
        // every slot of the amended record (128-byte CID: 4 + 4 words) is zero after burn
        bytes32 base = keccak256(abi.encode(first + 8, uint256(1)));
        assertTrue(vm.load(address(nft), bytes32(uint256(base) + 7)) != bytes32(0), "last CID word kept");
        vm.prank(patient);
        nft.burn(first + 8);
        for (uint256 k = 0; k < 8; k++) {
            assertEq(vm.load(address(nft), bytes32(uint256(base) + k)), bytes32(0), "slot cleared");
        }
        vm.expectRevert(abi.encodeWithSelector(HealthRecordNFT.NonexistentToken.selector, first + 8));
        nft.recordOf(first + 8);
    }
}
