/*
 * The table of `phr` subcommands. Each module's commands live in their own
 * cmd_*.c file; add one line here per top-level command.
 */
#include "cli.h"

int phr_cmd_version(int argc, char **argv);
int phr_cmd_add(int argc, char **argv);
int phr_cmd_cat(int argc, char **argv);
int phr_cmd_get(int argc, char **argv);
int phr_cmd_pin(int argc, char **argv);
int phr_cmd_store(int argc, char **argv);
int phr_cmd_car(int argc, char **argv);
int phr_cmd_gateway(int argc, char **argv);
int phr_cmd_account(int argc, char **argv);
int phr_cmd_statetest(int argc, char **argv);
int phr_cmd_chain(int argc, char **argv);
int phr_cmd_eth(int argc, char **argv);
int phr_cmd_node(int argc, char **argv);
int phr_cmd_dicom(int argc, char **argv);
int phr_cmd_fhir(int argc, char **argv);
int phr_cmd_shc(int argc, char **argv);
int phr_cmd_login(int argc, char **argv);
int phr_cmd_patient(int argc, char **argv);
int phr_cmd_record(int argc, char **argv);
int phr_cmd_access(int argc, char **argv);
int phr_cmd_audit(int argc, char **argv);
int phr_cmd_export(int argc, char **argv);
int phr_cmd_pprl(int argc, char **argv);
int phr_cmd_study(int argc, char **argv);
int phr_cmd_milestone(int argc, char **argv);
int phr_cmd_emergency(int argc, char **argv);
int phr_cmd_zk(int argc, char **argv);
int phr_cmd_recovery(int argc, char **argv);
int phr_cmd_backup(int argc, char **argv);

const struct phr_cli_cmd phr_cli_commands[] = {
	{ "version", "print the version of phr and its libraries", phr_cmd_version },
	{ "account", "manage Ethereum accounts (keystore files)", phr_cmd_account },
	{ "add", "import a file into the store, print its CID (IPFS-compatible)", phr_cmd_add },
	{ "cat", "write a stored file to stdout, verifying every block", phr_cmd_cat },
	{ "get", "fetch a DAG from an IPFS trustless gateway", phr_cmd_get },
	{ "pin", "pin add|rm|ls: keep DAGs in the store", phr_cmd_pin },
	{ "store", "store gc|stat|verify", phr_cmd_store },
	{ "car", "car export|import: CARv1 archives of DAGs", phr_cmd_car },
	{ "gateway", "serve the store as an IPFS trustless gateway", phr_cmd_gateway },
	{ "statetest", "run ethereum/tests GeneralStateTests (conformance of the EVM)", phr_cmd_statetest },
	{ "chain", "run the embedded Ethereum-compatible chain with its JSON-RPC server", phr_cmd_chain },
	{ "eth", "Ethereum utilities: decode transactions, recover signers, ABI", phr_cmd_eth },
	{ "node", "run a phr node: chain, record store, REST API, JSON-RPC and gateway", phr_cmd_node },
	{ "login", "sign in to a node with Sign-In with Ethereum (keystore), save the token", phr_cmd_login },
	{ "patient", "patient register|me: registration and roles on a node", phr_cmd_patient },
	{ "record", "record submit|get|list: health records through a node's API", phr_cmd_record },
	{ "access", "access grant|revoke|request|approve|deny|list: who may read what", phr_cmd_access },
	{ "audit", "the audit trail of a patient or a record; verify, report, disclosures, anomalies", phr_cmd_audit },
	{ "export", "GDPR export of the signed-in patient: FHIR Bundle, NDJSON, encrypted CAR, access log", phr_cmd_export },
	{ "fhir", "FHIR utilities: check-code, check-resource (terminology), validate (R4 definitions)", phr_cmd_fhir },
	{ "shc", "SMART Health Cards: keygen, jwks, issue, verify, qr", phr_cmd_shc },
	{ "dicom", "DICOM files: dump as DICOM JSON, metadata and FHIR ImagingStudy", phr_cmd_dicom },
	{ "pprl", "privacy-preserving record linkage: encode CSV into CLKs, link CLK files", phr_cmd_pprl },
	{ "study", "homomorphic study aggregates: create, join, submit, aggregate, decrypt", phr_cmd_study },
	{ "milestone", "health milestone tokens: list, show, verify, details, attest", phr_cmd_milestone },
	{ "emergency", "break-glass with an escrowed emergency summary: setup, open, read, close, status", phr_cmd_emergency },
	{ "zk", "zero-knowledge credentials: identity, prove (via node), verify (native)", phr_cmd_zk },
	{ "recovery", "account recovery: guardians, approve, cancel, execute, status, key shares, rewrap", phr_cmd_recovery },
	{ "backup", "cold-storage bundles of a patient's records: create, verify, restore", phr_cmd_backup },
	{ NULL, NULL, NULL },
};
