pragma circom 2.1.6;

// Root of a binary Poseidon Merkle tree of the given depth: node = Poseidon(left, right),
// bit i of leafIndex says whether the running node is the right child at level i.
include "poseidon.circom";
include "bitify.circom";

template MerkleRoot(depth) {
    signal input leaf;
    signal input leafIndex;
    signal input siblings[depth];
    signal output root;

    component bits = Num2Bits(depth);
    bits.in <== leafIndex;

    signal nodes[depth + 1];
    signal left[depth];
    component h[depth];
    nodes[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        left[i] <== nodes[i] + bits.out[i] * (siblings[i] - nodes[i]);
        h[i] = Poseidon(2);
        h[i].inputs[0] <== left[i];
        h[i].inputs[1] <== nodes[i] + siblings[i] - left[i];
        nodes[i + 1] <== h[i].out;
    }
    root <== nodes[depth];
}
