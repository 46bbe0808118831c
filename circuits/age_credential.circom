pragma circom 2.1.6;

// Patient predicate: "an authority whose public key is (authorityX, authorityY) signed my
// birth date, and on `today` I am at least `minAge` years old", without the birth date.
// Dates are YYYYMMDD integers, so today - birthDate >= minAge * 10000 is exactly
// "the minAge-th birthday is on or before today".
// The authority signs (EdDSA-Poseidon on Baby Jubjub) the attestation
//     msg = Poseidon(Poseidon(secret), birthDate)
// Nullifier (one use per scope): Poseidon(scope, secret).

include "poseidon.circom";
include "comparators.circom";
include "bitify.circom";
include "eddsaposeidon.circom";

template AgeCredential() {
    signal input secret;
    signal input birthDate;
    signal input sigR8x;
    signal input sigR8y;
    signal input sigS;

    signal input authorityX;
    signal input authorityY;
    signal input today;
    signal input minAge;
    signal input scope;
    signal input message;

    signal output nullifier;

    component birthBits = Num2Bits(32);
    birthBits.in <== birthDate;
    component todayBits = Num2Bits(32);
    todayBits.in <== today;
    component ageBits = Num2Bits(8);
    ageBits.in <== minAge;
    component oldEnough = LessEqThan(34);
    oldEnough.in[0] <== birthDate + minAge * 10000;
    oldEnough.in[1] <== today;
    oldEnough.out === 1;

    component id = Poseidon(1);
    id.inputs[0] <== secret;
    component att = Poseidon(2);
    att.inputs[0] <== id.out;
    att.inputs[1] <== birthDate;

    component sig = EdDSAPoseidonVerifier();
    sig.enabled <== 1;
    sig.Ax <== authorityX;
    sig.Ay <== authorityY;
    sig.R8x <== sigR8x;
    sig.R8y <== sigR8y;
    sig.S <== sigS;
    sig.M <== att.out;

    component nul = Poseidon(2);
    nul.inputs[0] <== scope;
    nul.inputs[1] <== secret;
    nullifier <== nul.out;

    signal messageSquare;
    messageSquare <== message * message;
}

component main {public [authorityX, authorityY, today, minAge, scope, message]} = AgeCredential();
