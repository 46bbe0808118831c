// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The few forge cheatcodes the phr tests use (forge serves them at VM_ADDRESS).
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    function addr(uint256 privateKey) external pure returns (address);
    function label(address account, string calldata newLabel) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
    function load(address target, bytes32 slot) external view returns (bytes32 data);
}

/// @notice A minimal test base: the cheatcode handle and assertions that revert on failure.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what);

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert AssertionFailed(what);
    }

    function assertFalse(bool c, string memory what) internal pure {
        if (c) revert AssertionFailed(what);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(string.concat(what, ": ", _u(a), " != ", _u(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(string memory a, string memory b, string memory what) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) revert AssertionFailed(string.concat(what, ": ", a, " != ", b));
    }

    function _u(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b = new bytes(78);
        uint256 n = 78;
        while (v != 0) {
            n--;
            b[n] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
        bytes memory o = new bytes(78 - n);
        for (uint256 i = 0; i < o.length; i++) o[i] = b[n + i];
        return string(o);
    }
}
