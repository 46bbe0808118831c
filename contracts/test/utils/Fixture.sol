// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {AccessLevel, RecordType, AuditAction, Purpose, IProviderRegistry, IPatientRegistry, IHealthRecordNFT, IEmergencyAccess, IAuditTrail} from "../../src/PhrTypes.sol";
import {GovernanceMultisig} from "../../src/GovernanceMultisig.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PatientRegistry} from "../../src/PatientRegistry.sol";
import {AuditTrail} from "../../src/AuditTrail.sol";
import {HealthRecordNFT} from "../../src/HealthRecordNFT.sol";
import {EmergencyAccess} from "../../src/EmergencyAccess.sol";
import {Recovery} from "../../src/Recovery.sol";

/// @notice Deploys and wires the whole phr contract set with a cast of actors.
abstract contract Fixture is Test {
    uint64 internal constant T0 = 1_700_000_000;
    bytes32 internal constant KEY = bytes32(uint256(0x5851f42d4c957f2d));
    bytes32 internal constant HASH1 = keccak256("salt1|record1");
    string internal constant CID1 = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    string internal constant CID2 = "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq";

    address internal g1 = vm.addr(0x101);
    address internal g2 = vm.addr(0x102);
    address internal g3 = vm.addr(0x103);
    address internal authority = vm.addr(0x201);
    address internal doctor = vm.addr(0x301);
    address internal doctor2 = vm.addr(0x302);
    address internal unverified = vm.addr(0x303);
    address internal er = vm.addr(0x401);
    address internal patient = vm.addr(0x501);
    address internal patient2 = vm.addr(0x502);
    address internal contact1 = vm.addr(0x601);
    address internal contact2 = vm.addr(0x602);
    address internal guardA = vm.addr(0x701);
    address internal guardB = vm.addr(0x702);
    address internal guardC = vm.addr(0x703);
    address internal newOwner = vm.addr(0x801);
    address internal stranger = vm.addr(0x901);

    GovernanceMultisig internal gov;
    ProviderRegistry internal providers;
    PatientRegistry internal reg;
    AuditTrail internal audit;
    HealthRecordNFT internal nft;
    EmergencyAccess internal emergency;
    Recovery internal recovery;

    function setUp() public virtual {
        vm.warp(T0);
        address[] memory owners = new address[](3);
        owners[0] = g1;
        owners[1] = g2;
        owners[2] = g3;
        gov = new GovernanceMultisig(owners, 2);
        providers = new ProviderRegistry(address(gov));
        reg = new PatientRegistry(IProviderRegistry(address(providers)));
        audit = new AuditTrail(IPatientRegistry(address(reg)));
        nft = new HealthRecordNFT(IPatientRegistry(address(reg)), IProviderRegistry(address(providers)), IAuditTrail(address(audit)));
        emergency = new EmergencyAccess(IPatientRegistry(address(reg)), IProviderRegistry(address(providers)), IAuditTrail(address(audit)));
        recovery = new Recovery(IPatientRegistry(address(reg)), IAuditTrail(address(audit)));
        reg.wire(IHealthRecordNFT(address(nft)), IEmergencyAccess(address(emergency)), address(recovery), IAuditTrail(address(audit)));
        address[] memory mods = new address[](4);
        mods[0] = address(reg);
        mods[1] = address(nft);
        mods[2] = address(emergency);
        mods[3] = address(recovery);
        audit.wire(mods);

        _govCall(abi.encodeCall(ProviderRegistry.setAuthority, (authority, true)));
        vm.startPrank(authority);
        providers.verifyProvider(doctor, 1, keccak256("licence-doctor"), T0 + 365 days);
        providers.verifyProvider(doctor2, 1, keccak256("licence-doctor2"), T0 + 365 days);
        providers.verifyProvider(er, 3, keccak256("licence-er"), T0 + 365 days);
        vm.stopPrank();
        vm.prank(patient);
        reg.register(KEY);
    }

    function _govCall(bytes memory data) internal {
        vm.prank(g1);
        uint256 id = gov.propose(address(providers), data);
        vm.prank(g2);
        gov.confirm(id);
        vm.prank(g3);
        gov.execute(id);
    }

    function scopeAll() internal pure returns (bytes32) {
        return bytes32(0);
    }

    function scopeCat(RecordType t) internal pure returns (bytes32) {
        return bytes32((uint256(1) << 248) | uint256(t));
    }

    function scopeRec(uint256 id) internal pure returns (bytes32) {
        return bytes32((uint256(2) << 248) | id);
    }

    function _grant(address p, AccessLevel level, bytes32 scope, uint64 expiry) internal {
        vm.prank(patient);
        reg.grantAccess(patient, p, level, scope, expiry);
    }

    function _mint(address by, RecordType t, uint256 supersedes) internal returns (uint256) {
        vm.prank(by);
        return nft.mintRecord(patient, HASH1, CID1, t, supersedes);
    }

    function _grantAndMint() internal returns (uint256) {
        _grant(doctor, AccessLevel.Write, scopeAll(), T0 + 30 days);
        return _mint(doctor, RecordType.Vaccination, 0);
    }
}
