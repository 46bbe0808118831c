# Writes src/api/openapi.c (the OpenAPI 3.1 document of the node API). Run: python3 src/api/gen_openapi.py
import json
prob={"$ref":"#/components/responses/Problem"}
def op(summary, tag, auth=True, body=None, params=None, ok="200", okdesc="OK", okschema=None, okmedia="application/json", extra=None):
    o={"summary":summary,"tags":[tag],"responses":{ok:{"description":okdesc,"content":{okmedia:{"schema":okschema or {"type":"object"}}}},"4XX":prob}}
    if auth: o["security"]=[{"bearer":[]}]
    else: o["security"]=[]
    if params: o["parameters"]=params
    if body: o["requestBody"]={"required":True,"content":body}
    if extra: o.update(extra)
    return o
addr={"name":"address","in":"path","required":True,"schema":{"$ref":"#/components/schemas/Address"}}
rid={"name":"id","in":"path","required":True,"schema":{"type":"string","pattern":"^[0-9]+$"}}
sname={"name":"name","in":"path","required":True,"schema":{"type":"string","pattern":"^[A-Za-z0-9._-]{1,64}$"}}
addr2={"name":"address","in":"path","required":True,"schema":{"$ref":"#/components/schemas/Address"}}
purpose={"name":"purpose","in":"query","required":False,"schema":{"type":"integer","minimum":0,"maximum":7},"description":"Purpose of use (0 Unspecified .. 7 Legal), default 1 Treatment"}
def js(schema): return {"application/json":{"schema":schema}}
lst={"$ref":"#/components/schemas/List"}
paths={
 "/healthz":{"get":op("Liveness and chain reachability","ops",auth=False)},
 "/metrics":{"get":op("Prometheus metrics","ops",auth=False,okmedia="text/plain",okschema={"type":"string"})},
 "/rpc":{"post":op("Ethereum JSON-RPC of the embedded chain (404 when the node uses an external chain)","chain",auth=False,body=js({"type":["object","array"]}))},
 "/ipfs/{cid}":{"get":op("IPFS trustless gateway (raw blocks, CAR, UnixFS files of ciphertext)","store",auth=False,params=[{"name":"cid","in":"path","required":True,"schema":{"type":"string"}},{"name":"format","in":"query","required":False,"schema":{"type":"string","enum":["raw","car"]}}],okmedia="application/octet-stream",okschema={"type":"string","format":"binary"})},
 "/api/v1/openapi.json":{"get":op("This document","ops",auth=False)},
 "/api/v1/info":{"get":op("Deployment (contract addresses, chain id) and the SIWE domain","ops",auth=False)},
 "/api/v1/auth/nonce":{"post":op("A single-use SIWE nonce (5 minutes)","auth",auth=False)},
 "/api/v1/auth/login":{"post":op("Sign-In with Ethereum: EIP-4361 message + personal_sign signature gives a bearer token","auth",auth=False,body=js({"type":"object","required":["message","signature"],"properties":{"message":{"type":"string"},"signature":{"type":"string","pattern":"^0x[0-9a-fA-F]{130}$"}}}))},
 "/api/v1/auth/logout":{"post":op("Revokes the bearer token","auth")},
 "/api/v1/me":{"get":op("The caller: address, roles from the registries, TOTP state","auth")},
 "/api/v1/me/totp":{"post":op("TOTP enrolment: a new secret and its otpauth:// URI","auth",ok="201",okdesc="Created")},
 "/api/v1/me/totp/confirm":{"post":op("Confirms TOTP enrolment with a first code","auth",body=js({"type":"object","properties":{"code":{"type":"string"}}}))},
 "/api/v1/patients":{"post":op("Registers the caller as a patient with its X25519 key","patients",ok="201",okdesc="Created")},
 "/api/v1/patients/{address}/records":{"get":op("Records of a patient","patients",params=[addr],okschema=lst)},
 "/api/v1/patients/{address}/grants":{"get":op("Grants of a patient (active, expired, revoked)","access",params=[addr],okschema=lst)},
 "/api/v1/patients/{address}/requests":{"get":op("Access requests addressed to a patient","access",params=[addr],okschema=lst)},
 "/api/v1/patients/{address}/audit":{"get":op("Audit trail of a patient, verified against the on-chain hash chain","audit",params=[addr],okschema=lst)},
 "/api/v1/patients/{address}/denials":{"get":op("Denied attempts this node refused for a patient","audit",params=[addr],okschema=lst)},
 "/api/v1/records":{"post":op("submitRecord: encrypts, stores, wraps keys and mints the record token to the patient","records",ok="201",okdesc="Created",
   params=[{"name":"patient","in":"query","required":False,"schema":{"$ref":"#/components/schemas/Address"},"description":"with a raw body"},{"name":"type","in":"query","required":False,"schema":{"type":"integer","minimum":0,"maximum":9}},{"name":"supersedes","in":"query","required":False,"schema":{"type":"string"}}],
   body={"application/json":{"schema":{"type":"object","required":["patient","type"],"properties":{"patient":{"$ref":"#/components/schemas/Address"},"type":{"type":"integer","minimum":0,"maximum":9},"data":{"type":"string","contentEncoding":"base64"},"text":{"type":"string"},"supersedes":{"type":"string"}}}},"application/octet-stream":{"schema":{"type":"string","format":"binary"}}})},
 "/api/v1/ciphertext":{"post":op("A verified provider's own client uploads record ciphertext (the record secretstream of salt || plaintext); the node imports it as UnixFS and answers its CID, which the client checks before minting","records",ok="201",okdesc="Created",
   body={"application/octet-stream":{"schema":{"type":"string","format":"binary"}}})},
 "/api/v1/records/{id}":{"get":op("getRecord: metadata, ciphertext (inline up to 1 MiB and at /ipfs/{cid}) and the caller's key capsule; audited View (by the node for a hosted caller, or by the caller itself: auditTx)","records",params=[rid,purpose,{"name":"auditTx","in":"query","required":False,"schema":{"type":"string","pattern":"^0x[0-9a-fA-F]{64}$"},"description":"hash of the caller's own AuditTrail.logAccess(View) transaction, for callers whose keys the node does not hold"}])},
 "/api/v1/records/{id}/content":{"get":op("The decrypted record for an identity hosted by this node; audited View","records",params=[rid,purpose],okmedia="application/octet-stream",okschema={"type":"string","format":"binary"})},
 "/api/v1/records/{id}/audit":{"get":op("Who looked at this record","audit",params=[rid],okschema=lst)},
 "/api/v1/records/{id}/capsules/{address}":{"get":op("Where this node keeps the key capsule of a record for a reader (sealed to the reader's X25519 key; used by peer nodes)","records",auth=False,params=[rid,addr]),
   "put":op("The record's patient (or its minting provider) stores a capsule its own client made (the data key sealed to the reader's registered X25519 key)","records",ok="201",okdesc="Created",params=[rid,addr],
   body={"application/octet-stream":{"schema":{"type":"string","format":"binary","minLength":80,"maxLength":80}},"application/json":{"schema":{"type":"object","required":["capsule"],"properties":{"capsule":{"type":"string","pattern":"^0x[0-9a-fA-F]{160}$"}}}}})},
 "/api/v1/access/grants":{"post":op("The patient (or an Admin delegate, naming the patient) grants a level on a scope until an expiry (Admin needs X-PHR-TOTP)","access",ok="201",okdesc="Created",
   params=[{"name":"X-PHR-TOTP","in":"header","required":False,"schema":{"type":"string"}}],
   body=js({"type":"object","required":["provider","level"],"properties":{"patient":{"$ref":"#/components/schemas/Address"},"provider":{"$ref":"#/components/schemas/Address"},"level":{"enum":["read","write","admin",1,2,3]},"scope":{"$ref":"#/components/schemas/Scope"},"expiry":{"type":"integer"},"duration":{"type":"integer","minimum":1}}}))},
 "/api/v1/access/revoke":{"post":op("The patient revokes a grant","access",body=js({"type":"object","required":["provider"],"properties":{"provider":{"$ref":"#/components/schemas/Address"},"scope":{"$ref":"#/components/schemas/Scope"}}}))},
 "/api/v1/access/requests":{"post":op("requestAccess(patient, purpose, duration) by a verified provider","access",ok="201",okdesc="Created",
   body=js({"type":"object","required":["patient","purpose","duration"],"properties":{"patient":{"$ref":"#/components/schemas/Address"},"purpose":{"type":"integer","minimum":0,"maximum":7},"duration":{"type":"integer","minimum":1},"level":{"enum":["read","write","admin",1,2,3]},"scope":{"$ref":"#/components/schemas/Scope"}}}))},
 "/api/v1/access/requests/{id}/approve":{"post":op("The patient approves a request (grant until approval + duration)","access",params=[rid])},
 "/api/v1/providers/verify":{"post":op("A credentialing authority verifies a provider (ProviderRegistry.verifyProvider)","providers",ok="201",okdesc="Created",
   body=js({"type":"object","required":["provider"],"properties":{"provider":{"$ref":"#/components/schemas/Address"},"roles":{"type":"integer","minimum":1,"maximum":3},"licenceExpiry":{"type":"integer"}}}))},
 "/api/v1/emergency":{"post":op("Break-glass (seed 8): a verified emergency provider opens a 24 h Read session on a patient; needs X-PHR-TOTP; the reason text is hashed on chain","emergency",ok="201",okdesc="Created",
   params=[{"name":"X-PHR-TOTP","in":"header","required":True,"schema":{"type":"string"}}],
   body=js({"type":"object","required":["patient","reasonCode","reason"],"properties":{"patient":{"$ref":"#/components/schemas/Address"},"reasonCode":{"type":"integer","minimum":1,"maximum":255},"reason":{"type":"string"}}}))},
 "/api/v1/emergency/close":{"post":op("Closes a break-glass session (the patient or the provider)","emergency",body=js({"type":"object","required":["patient"],"properties":{"patient":{"$ref":"#/components/schemas/Address"},"provider":{"$ref":"#/components/schemas/Address"}}}))},
 "/api/v1/escrow":{"get":op("This node's escrow-holder key (address, X25519 boxPk) for emergency summaries (docs/emergency.md)","emergency",auth=False)},
 "/api/v1/escrow/{address}":{"put":op("Deposits a patient's escrowed emergency summary at this holder: {deposit (text), signature}; signed by the patient's owner (checked on chain); the deposit holds the signed manifest, this holder's sealed Shamir share, the summary ciphertext and optional webhooks","emergency",auth=False,ok="201",okdesc="Created",params=[addr],
   body=js({"type":"object","required":["deposit","signature"],"properties":{"deposit":{"type":"string"},"signature":{"type":"string","pattern":"^0x[0-9a-fA-F]{130}$"}}})),
  "get":op("What this holder keeps for the patient (manifest, no share) and its release log; the patient or an auditor","emergency",params=[addr])},
 "/api/v1/escrow/{address}/release":{"post":op("Releases this holder's share re-sealed to the requester, only while EmergencyAccess.isActive(patient, requester) holds on chain: {request (text), signature} signed by the requester; every attempt is logged here and a release notifies the patient","emergency",auth=False,params=[addr],
   body=js({"type":"object","required":["request","signature"],"properties":{"request":{"type":"string"},"signature":{"type":"string","pattern":"^0x[0-9a-fA-F]{130}$"}}}))},
 "/api/v1/me/webhooks":{"post":op("Registers a webhook for the caller's notifications: POSTs of {id, recipient, kind, createdAt, payload} with X-Phr-Timestamp and X-Phr-Signature: v1=hex(HMAC-SHA256(secret, timestamp '.' body)); retried with exponential backoff until a 2xx","notifications",ok="201",okdesc="Created",
   body=js({"type":"object","required":["url","secret"],"properties":{"url":{"type":"string","pattern":"^http://"},"secret":{"type":"string","pattern":"^(0x)?([0-9a-fA-F]{2}){16,64}$"}}})),
  "get":op("The caller's webhook subscriptions (no secrets)","notifications",okschema=lst)},
 "/api/v1/me/webhooks/{id}":{"delete":op("Removes a webhook subscription of the caller and its pending deliveries","notifications",params=[rid])},
 "/api/v1/patients/{address}/notifications":{"get":op("Notifications of a patient (emergency, access_request, recovery, ...) with each webhook delivery's state, newest first","notifications",params=[addr,{"name":"limit","in":"query","required":False,"schema":{"type":"integer","minimum":1,"maximum":1000}}],okschema=lst)},
 "/api/v1/access/requests/{id}/deny":{"post":op("The patient denies a request","access",params=[rid])},
 "/api/v1/tx":{"post":op("Relays a transaction the caller signed with its own key (keystore): it must come from the signed-in address, carry this chain's id, call one of the deployment's contracts, no value; Admin grants, approving an Admin request, rotateOwner and break-glass need X-PHR-TOTP; forwarded with eth_sendRawTransaction","tx",
   params=[{"name":"X-PHR-TOTP","in":"header","required":False,"schema":{"type":"string"}}],
   body=js({"type":"object","required":["raw"],"properties":{"raw":{"type":"string","pattern":"^0x([0-9a-fA-F]{2})+$"}}}))},
 "/api/v1/milestones/{id}":{"post":op("Publishes a health milestone (seed 5) for a token of a milestone type: with {details, signature} the caller's own EIP-712 signature (Milestone(uint256 tokenId,uint8 recordType,bytes32 dataHash,bytes32 detailsHash,uint64 timestamp)); without a body the hosted provider attests it. Details are sealed to the patient and the provider; the public metadata has no health data","milestones",ok="201",okdesc="Created",params=[rid],
   body=js({"type":"object","properties":{"details":{"type":"object"},"signature":{"type":"string","pattern":"^0x[0-9a-fA-F]{130}$"}}})),
  "get":op("Public metadata of a milestone (recordType, provider, timestamp, detailsHash, sealed-details CIDs, verificationProof, encryptedData)","milestones",auth=False,params=[rid])},
 "/api/v1/milestones/{id}/verify":{"get":op("Checks a milestone's metadata against the chain: live milestone token, type, provider, dataHash, timestamp, the provider's EIP-712 signature, the provider verified now","milestones",auth=False,params=[rid])},
 "/api/v1/milestones/{id}/details":{"get":op("The sealed details of a milestone opened for the hosted patient or provider, checked against detailsHash","milestones",params=[rid])},
 "/api/v1/milestones/{id}/typed-data":{"get":op("The EIP-712 typed data a provider signs with its own key to attest a milestone (then POST /api/v1/milestones/{id} with details and signature)","milestones",auth=False,params=[rid,{"name":"detailsHash","in":"query","required":True,"schema":{"type":"string","pattern":"^0x[0-9a-fA-F]{64}$"}}])},
 "/api/v1/patients/{address}/milestones":{"get":op("Milestone tokens of a patient with their public metadata","milestones",params=[addr],okschema=lst)},
 "/api/v1/records/{id}/shc":{"post":op("Issues a SMART Health Card for an Immunization record minted by a provider this node hosts (the caller must be able to read it); ?format=png|svg answers the first QR code","shc",ok="201",okdesc="Created",
   params=[rid,{"name":"format","in":"query","required":False,"schema":{"type":"string","enum":["json","png","svg"]}}],
   body=js({"type":"object","required":["patient"],"properties":{"patient":{"type":"object","description":"FHIR Patient (name, birthDate)"}}}))},
 "/api/v1/shc/verify":{"post":op("Verifies a SMART Health Card issued by this node (signature, key, dates, issuer): body {jws}, {qr: [shc:/...]} or a .smart-health-card file","shc",auth=False,
   body=js({"type":"object","properties":{"jws":{"type":"string"},"qr":{"type":"array","items":{"type":"string"}},"verifiableCredential":{"type":"array","items":{"type":"string"}}}}))},
 "/api/v1/zk/verify":{"post":op("Verifies a zero-knowledge proof as a relying party (docs/privacy.md section 3): kind provider (credential of a role), age (age at least N) or trial (enrolled in a trial's eligible group); the proof natively with the contract's policy (time window, dates, optional role, scope, trialId, minAge, message) and the chain state the contract reads (root valid, attester enabled, nullifier unspent); spends nothing. Answers {valid, kind, nullifier, checks, error, reason}; no token needed (rate-limited)","zk",auth=False,
   body=js({"type":"object","required":["kind","proof","publicSignals"],"properties":{"kind":{"type":"string","enum":["provider","age","trial"]},"proof":{"type":"object","description":"snarkjs Groth16 proof (pi_a, pi_b, pi_c)"},"publicSignals":{"type":"array","items":{"type":"string","pattern":"^[0-9]+$"}},"role":{"type":"string"},"scope":{"type":"string"},"trialId":{"type":"string"},"minAge":{"type":"integer","minimum":1,"maximum":255},"message":{"type":"string","description":"required binding: the caller's address (0x-hex) or a decimal"}}}))},
 "/api/v1/studies":{"post":op("Creates a research study (homomorphic aggregates): the hosted sponsor (a verified provider) names it, picks the value bits, the custodians and the threshold t; the node deals the threshold key, seals each custodian's share to its registered key and registers the study on chain (StudyRegistry)","studies",ok="201",okdesc="Created",
   body=js({"type":"object","required":["name","bits","t","custodians"],"properties":{"name":{"type":"string","pattern":"^[A-Za-z0-9._-]{1,64}$"},"bits":{"type":"integer","minimum":1,"maximum":16},"t":{"type":"integer","minimum":1},"custodians":{"type":"array","items":{"$ref":"#/components/schemas/Address"}}}}))},
 "/api/v1/studies/{name}":{"get":op("A study's public state: parameters, submissions counted, the running aggregate (ciphertexts), closed or not, partials received","studies",params=[sname])},
 "/api/v1/studies/{name}/shares/{address}":{"get":op("A custodian's share, sealed to its registered X25519 key (base64)","studies",auth=False,params=[sname,addr2])},
 "/api/v1/studies/{name}/consent":{"post":op("The hosted patient consents on chain until a date, or withdraws","studies",params=[sname],body=js({"type":"object","properties":{"until":{"type":"integer"},"withdraw":{"type":"boolean"}}}))},
 "/api/v1/studies/{name}/submissions":{"post":op("A patient's encrypted value with its range, square and one proofs; counted only with consent on chain now, once per patient","studies",ok="201",okdesc="Created",params=[sname],body=js({"type":"object","required":["submission"],"properties":{"submission":{"type":"object"}}}))},
 "/api/v1/studies/{name}/close":{"post":op("The sponsor stops submissions; the aggregate's hash goes on chain","studies",params=[sname])},
 "/api/v1/studies/{name}/partials":{"post":op("A custodian's partial decryption of the closed aggregate with Chaum-Pedersen proofs","studies",ok="201",okdesc="Created",params=[sname],body=js({"type":"object","required":["partial"],"properties":{"partial":{"type":"object"}}}))},
 "/api/v1/studies/{name}/result":{"get":op("Count, sum, sum of squares, mean and variance decrypted from t valid partials (409 before)","studies",params=[sname])},
 "/api/v1/studies/{name}/log":{"get":op("Every step of the study: who, when, what, refusals included","studies",params=[sname],okschema=lst)},
 "/api/v1/backups/status":{"get":op("The backup verification job: last run, blocks checked against their CIDs, failures, whether the latest bundle verifies (docs/recovery.md)","backups")},
 "/api/v1/recovery/{address}":{"get":op("Recovery state of a patient on chain: owner, guardians, threshold, round, scheduled rotation (pendingOwner, readyAt)","recovery",params=[addr])},
 "/api/v1/recovery/shares/release":{"post":op("A key-share holder hosted on this node releases its share of the patient's X25519 secret to the caller: only to the patient's current owner after a rotation, re-sealed to the key registered on chain; notifies the patient and its contacts","recovery",
   body=js({"type":"object","required":["share"],"properties":{"share":{"type":"object","description":"a phr-recovery-share/1 document (docs/recovery.md)"}}}))},
 "/api/v1/patients/{address}/disclosures":{"get":op("HIPAA accounting of disclosures (45 CFR 164.528): every View or Emergency access by someone other than the patient over the last six years (or from/to), with date, recipient, description of the data and purpose; JSON rows, CSV, or a FHIR Bundle of IHE BALP AuditEvents (docs/compliance.md)","compliance",params=[addr,{"name":"format","in":"query","required":False,"schema":{"type":"string","enum":["json","csv","fhir"]}},{"name":"from","in":"query","required":False,"schema":{"type":"integer","minimum":0}},{"name":"to","in":"query","required":False,"schema":{"type":"integer","minimum":0}},purpose])},
 "/api/v1/patients/{address}/export":{"get":op("GDPR access and portability export of a hosted patient (the patient only, TOTP step-up X-PHR-TOTP): a FHIR Bundle of every live record (part=bundle), the same as NDJSON (ndjson), the encrypted originals and capsules as a signed backup CAR (car), the access log (log, with format=json|csv|fhir)","compliance",params=[addr,{"name":"part","in":"query","required":False,"schema":{"type":"string","enum":["bundle","ndjson","car","log"]}},{"name":"format","in":"query","required":False,"schema":{"type":"string","enum":["json","csv","fhir"]}}])},
 "/api/v1/compliance/report":{"get":op("Organisation-wide audit report for auditors: audit rows filtered by actor, patient, purpose and period (from/to, chain time); disclosures=true keeps the 164.528 disclosures only","compliance",params=[{"name":"actor","in":"query","required":False,"schema":{"$ref":"#/components/schemas/Address"}},{"name":"patient","in":"query","required":False,"schema":{"$ref":"#/components/schemas/Address"}},purpose,{"name":"from","in":"query","required":False,"schema":{"type":"integer","minimum":0}},{"name":"to","in":"query","required":False,"schema":{"type":"integer","minimum":0}},{"name":"disclosures","in":"query","required":False,"schema":{"type":"string","enum":["true","false"]}},{"name":"format","in":"query","required":False,"schema":{"type":"string","enum":["json","csv","fhir"]}}])},
 "/api/v1/compliance/audit/verify":{"get":op("Audit-trail integrity: the chain's AuditLogged events fold to AuditTrail.headOf/countOf, and the node's index holds exactly those events (missing, modified, extra rows by seq); auditors for every patient, a patient for her own","compliance",params=[{"name":"patient","in":"query","required":False,"schema":{"$ref":"#/components/schemas/Address"}}])},
 "/api/v1/compliance/anomalies/scan":{"post":op("The access anomaly rule (docs/compliance.md): actors who read far more distinct records in the window than usual; each finding notifies the patients concerned and the calling auditor","compliance",params=[{"name":"window","in":"query","required":False,"schema":{"type":"integer","minimum":1}},{"name":"baseline","in":"query","required":False,"schema":{"type":"integer","minimum":0}},{"name":"minRecords","in":"query","required":False,"schema":{"type":"integer","minimum":0}},{"name":"factor","in":"query","required":False,"schema":{"type":"integer","minimum":1}}],okschema=lst)},
 "/api/v1/compliance/jobs":{"get":op("The compliance job (erasure honouring, retention, anomaly rule): the last pass and the totals (auditors)","compliance")},
 "/api/v1/explain":{"get":op("Explain access: why the actor can or cannot read the record now, following PatientRegistry.canAccess (patient-owner, break-glass, not-a-verified-provider, grant with its scope, grant-expired, grant-revoked, no-grant, no-live-record) and the chain's own decision; the actor, the record's patient or an auditor","compliance",params=[{"name":"actor","in":"query","required":True,"schema":{"$ref":"#/components/schemas/Address"}},{"name":"record","in":"query","required":True,"schema":{"type":"string","pattern":"^[0-9]+$"}}])},
 "/api/v1/patients/{address}/consents":{"get":op("The patient's grants on chain as a FHIR Bundle of Consent resources (patient, auditor)","compliance",params=[addr]),
   "post":op("A FHIR Consent written by the patient (hosted; TOTP when enrolled) creates, changes or revokes grants: permit/deny provisions with actor (urn:ethereum:0x...), period, action (access: Read, correct: Write), purpose, class (urn:phr:record-type) or data (urn:phr:record); denies override overlapping permits and revoke overlapping grants (docs/compliance.md)","compliance",params=[addr],body={"application/fhir+json":{"schema":{"type":"object"}},"application/json":{"schema":{"type":"object"}}})},
 "/api/v1/records/{id}/erasure":{"get":op("Erasure state of a record on ErasureRegistry: requested, confirmations by honouring nodes, legal hold","compliance",params=[rid]),
   "post":op("The patient's owner (hosted) asks for the record's erasure on chain (refused under legal hold); every node holding capsules or blocks destroys them and confirms","compliance",params=[rid],ok="202",okdesc="Accepted")},
 "/api/v1/records/{id}/erasure/finish":{"post":op("The owner burns the record token after the request (HealthRecordNFT.burn, audited Erase)","compliance",params=[rid])},
 "/api/v1/records/{id}/hold":{"post":op("A legal hold authority (hosted) sets or releases a hold on the record; the reason text stays off chain, its keccak256 is recorded","compliance",params=[rid],body=js({"type":"object","required":["reason"],"properties":{"reason":{"type":"string"},"release":{"type":"boolean"}}}))},
}
doc={"openapi":"3.1.0","info":{"title":"phr node API","version":"1.0.0","description":"REST API of a phr node, shaped after the seed's ProviderInterface (submitRecord, getRecord, requestAccess). Errors are RFC 9457 problem+json."},
 "servers":[{"url":"/"}],"paths":paths,
 "components":{"responses":{"Problem":{"description":"Error (RFC 9457)","content":{"application/problem+json":{"schema":{"$ref":"#/components/schemas/Problem"}}}}},"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"Token from POST /api/v1/auth/login (SIWE)"}},
  "schemas":{"Address":{"type":"string","pattern":"^0x[0-9a-fA-F]{40}$"},
   "Scope":{"oneOf":[{"const":"all"},{"type":"object","properties":{"category":{"type":"integer","minimum":0,"maximum":9}},"required":["category"]},{"type":"object","properties":{"record":{"type":"string"}},"required":["record"]},{"type":"string","pattern":"^0x[0-9a-fA-F]{64}$"}]},
   "List":{"type":"object","properties":{"items":{"type":"array"},"count":{"type":"integer"}}},
   "Problem":{"type":"object","properties":{"type":{"type":"string"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},"instance":{"type":"string"}}}}}}
text=json.dumps(doc,separators=(',',':'))
import textwrap

out=['/*\n * The OpenAPI 3.1 document of the node API (kept in step with the route table\n * in routes.c by tests/api/test_api.c).\n */\n#include "phr/api.h"\n\n/* one literal keeps the document readable; every compiler we use takes it */\n#pragma GCC diagnostic ignored "-Woverlength-strings"\n\nconst char *phr_api_openapi(void)\n{\n\tstatic const char doc[] =\n']
for line in [text[i:i+88] for i in range(0,len(text),88)]:
    out.append('\t\t"'+line.replace('\\','\\\\').replace('"','\\"')+'"\n')
out.append('\t\t;\n\treturn doc;\n}\n')
open(__import__('os').path.join(__import__('os').path.dirname(__file__),'openapi.c'),'w').write(''.join(out))
