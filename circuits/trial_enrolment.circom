pragma circom 2.1.6;

// Trial enrolment: "my identity commitment is in the eligibility tree of trial `trialId`
// (root `root`)", without saying which leaf is mine.
// Leaf (inserted by the trial's sponsor into TrialRegistry after checking eligibility):
//     leaf = idCommitment = Poseidon(secret)   (the patient's identity commitment, the
//                                               same one the age attestation signs)
// Nullifier (one enrolment per patient per trial, unlinkable across trials):
//     nullifier = Poseidon(trialId, secret)
// It equals the nullifier of an age proof made with scope = trialId by the same patient,
// so a trial that also requires "age >= N" can ask for both and match them.
// `message` binds the proof to the request (TrialRegistry passes the caller's address).

include "poseidon.circom";
include "merkle.circom";

template TrialEnrolment(depth) {
    signal input secret;
    signal input leafIndex;
    signal input siblings[depth];

    signal input root;
    signal input trialId;
    signal input message;

    signal output nullifier;

    component id = Poseidon(1);
    id.inputs[0] <== secret;

    component tree = MerkleRoot(depth);
    tree.leaf <== id.out;
    tree.leafIndex <== leafIndex;
    for (var i = 0; i < depth; i++) {
        tree.siblings[i] <== siblings[i];
    }
    root === tree.root;

    component nul = Poseidon(2);
    nul.inputs[0] <== trialId;
    nul.inputs[1] <== secret;
    nullifier <== nul.out;

    // Keeps `message` in the constraint system (otherwise it could be changed freely).
    signal messageSquare;
    messageSquare <== message * message;
}

component main {public [root, trialId, message]} = TrialEnrolment(20);
