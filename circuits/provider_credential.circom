pragma circom 2.1.6;

// Provider credential: "I hold an unrevoked credential of role `role`, valid at
// `currentTime`, in the credential tree with root `root`", without saying which one.
// Leaf (inserted by the credentialing authority into CredentialRegistry):
//     leaf = Poseidon(Poseidon(secret), role, expiry)
// Nullifier (one use per scope, unlinkable across scopes):
//     nullifier = Poseidon(scope, secret)
// `message` binds the proof to the request (ResearchAccess passes the caller's address)
// so a proof seen in the mempool cannot be replayed by someone else.

include "poseidon.circom";
include "comparators.circom";
include "bitify.circom";
include "merkle.circom";

template ProviderCredential(depth) {
    signal input secret;
    signal input expiry;
    signal input leafIndex;
    signal input siblings[depth];

    signal input root;
    signal input role;
    signal input currentTime;
    signal input scope;
    signal input message;

    signal output nullifier;

    // Both times are 64-bit seconds; the range checks make LessThan sound.
    component expiryBits = Num2Bits(64);
    expiryBits.in <== expiry;
    component nowBits = Num2Bits(64);
    nowBits.in <== currentTime;
    component notExpired = LessThan(64);
    notExpired.in[0] <== currentTime;
    notExpired.in[1] <== expiry;
    notExpired.out === 1;

    component id = Poseidon(1);
    id.inputs[0] <== secret;
    component leaf = Poseidon(3);
    leaf.inputs[0] <== id.out;
    leaf.inputs[1] <== role;
    leaf.inputs[2] <== expiry;

    component tree = MerkleRoot(depth);
    tree.leaf <== leaf.out;
    tree.leafIndex <== leafIndex;
    for (var i = 0; i < depth; i++) {
        tree.siblings[i] <== siblings[i];
    }
    root === tree.root;

    component nul = Poseidon(2);
    nul.inputs[0] <== scope;
    nul.inputs[1] <== secret;
    nullifier <== nul.out;

    // Keeps `message` in the constraint system (otherwise it could be changed freely).
    signal messageSquare;
    messageSquare <== message * message;
}

component main {public [root, role, currentTime, scope, message]} = ProviderCredential(20);
