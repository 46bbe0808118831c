/*
 * Records: the provider-to-patient flow (seed §6.1) and reading (§6.2 step 5).
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr_int.h"
#include "txq.h"

#define SALT_BYTES 32

/* Encrypts salt || data under @p key into the store. */
/* A memfd holding the envelope salt || plaintext, plaintext copied from @p data or read
 * from @p src (to its end), hashed on the way: keccak256(salt || plaintext) in @p hash. */
static int envelope_fd(int *out, uint8_t hash[32], uint64_t *plain_len, const uint8_t salt[32],
		       const uint8_t *data, size_t len, int src)
{
	int fd = memfd_create("phr-record", MFD_CLOEXEC);
	struct phr_keccak k;
	uint64_t total = 0;
	int rv;

	if (fd < 0)
		return PHR_ERR_IO;
	phr_keccak_init(&k);
	phr_keccak_update(&k, salt, SALT_BYTES);
	rv = phr_fd_write_all(fd, salt, SALT_BYTES);
	if (rv == PHR_OK && src < 0) {
		phr_keccak_update(&k, data, len);
		rv = phr_fd_write_all(fd, data, len);
		total = len;
	}
	if (rv == PHR_OK && src >= 0) {
		uint8_t *buf = phr_malloc(1 << 16);
		if (buf == NULL)
			rv = PHR_ERR_NOMEM;
		for (ssize_t r = 1; rv == PHR_OK && r > 0;) {
			r = read(src, buf, 1 << 16);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				rv = PHR_ERR_IO;
			else if (r > 0 && (total += (uint64_t)r) > PHR_RECORD_STREAM_MAX)
				rv = PHR_ERR_TOO_LARGE;
			else if (r > 0) {
				phr_keccak_update(&k, buf, (size_t)r);
				rv = phr_fd_write_all(fd, buf, (size_t)r);
			}
		}
		if (buf != NULL)
			sodium_memzero(buf, 1 << 16);
		phr_free(buf);
	}
	phr_keccak_final(&k, hash);
	if (rv == PHR_OK && lseek(fd, 0, SEEK_SET) != 0)
		rv = PHR_ERR_IO;
	if (rv != PHR_OK) {
		if (ftruncate(fd, 0) != 0)
			rv = rv == PHR_OK ? PHR_ERR_IO : rv;
		close(fd);
		return rv;
	}
	*out = fd;
	*plain_len = total;
	return PHR_OK;
}

static void envelope_close(int fd);

int phr_node_i_envelope(int *fd, uint8_t hash[32], const uint8_t *data, size_t len)
{
	uint8_t salt[SALT_BYTES];
	uint64_t plain = 0;
	int rv;

	randombytes_buf(salt, sizeof(salt));
	rv = envelope_fd(fd, hash, &plain, salt, data, len, -1);
	sodium_memzero(salt, sizeof(salt));
	return rv;
}

void phr_node_i_envelope_close(int fd)
{
	envelope_close(fd);
}

/* Wipes the plaintext copy before the memory goes back, and closes. */
static void envelope_close(int fd)
{
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0)
			phr_log_warn("phr", "a record envelope could not be truncated");
		close(fd);
	}
}

static void data_hash(uint8_t out[32], const uint8_t salt[32], const uint8_t *data, size_t len)
{
	struct phr_keccak k;

	phr_keccak_init(&k);
	phr_keccak_update(&k, salt, SALT_BYTES);
	phr_keccak_update(&k, data, len);
	phr_keccak_final(&k, out);
}

/* The provider-to-patient flow over an envelope memfd (salt || plaintext at offset 0). */
static int submit_envelope(struct phr_node *n, struct phr_record_receipt *out,
			   const struct phr_identity *provider, const uint8_t patient[20],
			   unsigned rtype, const struct phr_u256 *supersedes, int env,
			   const uint8_t hash[32])
{
	struct phr_record_receipt res;
	struct phr_cid root, cap_pat, cap_prov;
	struct phr_u256 sup = supersedes ? *supersedes : PHR_U256_ZERO;
	uint8_t patient_pk[32];
	uint8_t *key = NULL;
	char cid[PHR_CID_STR_MAX], cap1[PHR_CID_STR_MAX], cap2[PHR_CID_STR_MAX];
	bool announced = false;
	int rv;

	memset(&res, 0, sizeof(res));
	memcpy(res.data_hash, hash, 32);
	/* no node lock: the store takes concurrent block writes, pins and the
	 * mint transaction are serialised where they must be (txq.c); announced, so
	 * that a group of this provider's mints being formed waits for it */
	phr_node_i_mint_announce(n, provider->address, true);
	announced = true;
	if ((rv = phr_node_i_enc_key(n, patient_pk, patient)) != PHR_OK)
		goto out;
	key = phr_crypto_key_new();
	if (key == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	/* the ciphertext, its pin and both capsules durable with one wait (a store group);
	 * the mint only once the group ended well */
	if ((rv = phr_store_group_begin(n->store)) != PHR_OK)
		goto out;
	if ((rv = phr_store_add_encrypted_fd(n->store, &root, env, key, NULL)) == PHR_OK &&
	    (rv = phr_cid_format(cid, sizeof(cid), &root)) == PHR_OK &&
	    (rv = phr_node_i_add_capsule(n, &cap_pat, patient_pk, key)) == PHR_OK)
		rv = phr_node_i_add_capsule(n, &cap_prov, provider->box_pk, key);
	{
		int end = phr_store_group_end(n->store);
		if (rv == PHR_OK)
			rv = end;
	}
	if (rv != PHR_OK)
		goto out;
	memcpy(res.cid, cid, sizeof(cid));
	if ((rv = phr_cid_format(cap1, sizeof(cap1), &cap_pat)) != PHR_OK ||
	    (rv = phr_cid_format(cap2, sizeof(cap2), &cap_prov)) != PHR_OK)
		goto out;
	/* grouped with the provider's concurrent submissions into one mintRecords, whose
	 * leader then indexes the capsules of the whole group in one commit (txq.c) */
	announced = false;
	if ((rv = phr_node_i_mint_announced(n, &res.token_id, provider, patient, res.data_hash,
					    cid, rtype, &sup, cap1, cap2)) != PHR_OK)
		goto out;
	*out = res;
	{
		char id[PHR_U256_DEC_LEN];
		phr_u256_to_dec(id, &res.token_id);
		phr_log_info("phr", "record %s minted (type %u, cid %s)", id, rtype, res.cid);
	}
out:
	if (announced)
		phr_node_i_mint_announce(n, provider->address, false);
	phr_crypto_key_free(key);
	return rv;
}

int phr_node_record_submit(struct phr_node *n, struct phr_record_receipt *out,
			   const struct phr_identity *provider, const uint8_t patient[20],
			   unsigned rtype, const struct phr_u256 *supersedes, const uint8_t *data,
			   size_t len)
{
	uint8_t salt[SALT_BYTES], hash[32];
	uint64_t plain = 0;
	int env = -1, rv;

	if (rtype > PHR_RECORD_TYPE_MAX || (data == NULL && len > 0))
		return PHR_ERR_INVALID;
	if (len > PHR_RECORD_MAX)
		return PHR_ERR_TOO_LARGE;
	randombytes_buf(salt, sizeof(salt));
	rv = envelope_fd(&env, hash, &plain, salt, data, len, -1);
	sodium_memzero(salt, sizeof(salt));
	if (rv == PHR_OK)
		rv = submit_envelope(n, out, provider, patient, rtype, supersedes, env, hash);
	envelope_close(env);
	return rv;
}

int phr_node_record_submit_fd(struct phr_node *n, struct phr_record_receipt *out,
			      const struct phr_identity *provider, const uint8_t patient[20],
			      unsigned rtype, const struct phr_u256 *supersedes, int fd)
{
	uint8_t salt[SALT_BYTES], hash[32];
	uint64_t plain = 0;
	int env = -1, rv;

	if (rtype > PHR_RECORD_TYPE_MAX || fd < 0)
		return PHR_ERR_INVALID;
	randombytes_buf(salt, sizeof(salt));
	rv = envelope_fd(&env, hash, &plain, salt, NULL, 0, fd);
	sodium_memzero(salt, sizeof(salt));
	if (rv == PHR_OK)
		rv = submit_envelope(n, out, provider, patient, rtype, supersedes, env, hash);
	envelope_close(env);
	return rv;
}

/* recordOf of a live token (PHR_ERR_NOT_FOUND otherwise). */
static int record_meta(struct phr_node *n, struct phr_record_meta *m, const struct phr_u256 *id)
{
	struct phr_buf cd, out, cid;
	uint64_t t = 0;
	int rv;

	memset(m, 0, sizeof(*m));
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	phr_buf_init(&cid, PHR_CID_STR_MAX - 1);
	/* one view call: recordOf reverts NonexistentToken (PHR_ERR_NOT_FOUND) exactly when
	 * recordInfo says the token is not live */
	if ((rv = phr_contracts_health_record_nft_record_of_encode(&cd, id)) != PHR_OK ||
	    (rv = phr_node_i_call(n, &out, NULL, n->dep.nft, &cd)) != PHR_OK)
		goto out;
	rv = phr_contracts_health_record_nft_record_of_decode(m->patient, &t, &m->created_at,
							      m->provider, &m->supersedes,
							      &m->superseded_by, m->data_hash, &cid,
							      out.data, out.len);
	if (rv != PHR_OK)
		goto out;
	m->rtype = (unsigned)t;
	m->token_id = *id;
	if (cid.len > 0)
		memcpy(m->cid, cid.data, cid.len);
	m->cid[cid.len] = '\0';
out:
	if (rv == PHR_ERR_TOO_LARGE)
		rv = PHR_ERR_CORRUPT;
	phr_buf_release(&cd);
	phr_buf_release(&out);
	phr_buf_release(&cid);
	return rv;
}

int phr_node_record_meta(struct phr_node *n, struct phr_record_meta *m, const struct phr_u256 *id)
{
	struct phr_record_meta tmp;
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = record_meta(n, &tmp, id);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK)
		*m = tmp;
	return rv;
}

/* eth_call of the registry view encoded in @p cd (@p encoded: the encoder's result), its
 * answer in @p out; PHR_ERR_UNSUPPORTED when it reverts (its revert data left unmapped). */
static int registry_view(struct phr_node *n, struct phr_buf *out, const struct phr_buf *cd,
			 int encoded)
{
	int rv = encoded;

	phr_buf_reset(out);
	if (rv == PHR_OK)
		rv = phr_chain_call(n->chain, out, NULL, n->dep.registry, cd->data, cd->len);
	return rv == PHR_ERR_REVERTED ? PHR_ERR_UNSUPPORTED : rv;
}

/*
 * canAccess(accessor, patient, record, level) as accessUntil(...) > the timestamp an
 * eth_call runs at (PatientRegistry.blockTimestamp: the pending block's on the embedded
 * chain, evm_increaseTime and evm_setNextBlockTimestamp included). accessUntil never
 * reads the clock, so the chain's memo keeps its answer until a grant, session,
 * provider or record changes; blockTimestamp's entry lasts a second and costs a few
 * opcodes to redo. The owner (no expiry) and a denial at every time need no clock.
 * @return PHR_OK; PHR_ERR_UNSUPPORTED when the registry has no accessUntil (bytecode from
 *         before it: the call reverts or returns no uint64) or accessUntil reverts, so
 *         the caller asks canAccess (and maps its revert); transport errors.
 */
static int access_until_locked(struct phr_node *n, bool *allowed, struct phr_buf *cd,
			       struct phr_buf *out, const uint8_t accessor[20],
			       const uint8_t patient[20], const struct phr_u256 *record,
			       enum phr_level level)
{
	struct phr_u256 ts;
	uint64_t until = 0;
	int rv;

	rv = registry_view(n, out, cd,
			   phr_contracts_patient_registry_access_until_encode(
				   cd, accessor, patient, record, (uint64_t)level));
	if (rv == PHR_OK &&
	    phr_contracts_patient_registry_access_until_decode(&until, out->data, out->len) != PHR_OK)
		rv = PHR_ERR_UNSUPPORTED;
	if (rv != PHR_OK)
		return rv;
	if (until == 0 || until == UINT64_MAX) {
		*allowed = until != 0;
		return PHR_OK;
	}
	/* the clock is read after the state: a state change in between is decided as
	 * canAccess would have decided it just before the change */
	phr_buf_reset(cd);
	rv = registry_view(n, out, cd, phr_contracts_patient_registry_block_timestamp_encode(cd));
	if (rv == PHR_OK &&
	    phr_contracts_patient_registry_block_timestamp_decode(&ts, out->data, out->len) != PHR_OK)
		rv = PHR_ERR_UNSUPPORTED;
	if (rv == PHR_OK)
		*allowed = phr_u256_cmp(&ts, &(struct phr_u256){ { until, 0, 0, 0 } }) < 0;
	return rv;
}

/*
 * The node's access decision: PatientRegistry.canAccess, through accessUntil on a chain
 * that memoizes eth_call (the embedded one, phr_chain_memo_stats). A remote chain is
 * asked canAccess itself: one round trip rather than two.
 */
static int can_access_locked(struct phr_node *n, bool *allowed, const uint8_t accessor[20],
			     const uint8_t patient[20], const struct phr_u256 *record,
			     enum phr_level level)
{
	struct phr_buf cd, out;
	uint64_t hits, misses;
	int rv = PHR_ERR_UNSUPPORTED;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if (phr_chain_memo_stats(n->chain, &hits, &misses) == PHR_OK)
		rv = access_until_locked(n, allowed, &cd, &out, accessor, patient, record, level);
	if (rv == PHR_ERR_UNSUPPORTED) {
		phr_buf_reset(&cd);
		rv = phr_contracts_patient_registry_can_access_encode(&cd, accessor, patient,
								      record, (uint64_t)level);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd);
		if (rv == PHR_OK)
			rv = phr_contracts_patient_registry_can_access_decode(allowed, out.data,
									      out.len);
	}
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

int phr_node_can_access(struct phr_node *n, bool *allowed, uint8_t patient[20],
			const uint8_t accessor[20], const struct phr_u256 *record,
			enum phr_level level)
{
	struct phr_record_meta m;
	int rv;

	rv = record_meta(n, &m, record);
	if (rv == PHR_OK)
		rv = can_access_locked(n, allowed, accessor, m.patient, record, level);
	if (rv == PHR_OK && patient != NULL)
		memcpy(patient, m.patient, 20);
	return rv;
}

int phr_node_can_access_patient(struct phr_node *n, bool *allowed, const uint8_t accessor[20],
				const uint8_t patient[20], enum phr_level level)
{
	const struct phr_u256 zero = PHR_U256_ZERO;
	int rv;

	rv = can_access_locked(n, allowed, accessor, patient, &zero, level);
	return rv;
}

int phr_node_i_share_record(struct phr_node *n, const struct phr_identity *patient,
			    const struct phr_u256 *record, const uint8_t reader[20],
			    const uint8_t reader_pk[32])
{
	char cid[PHR_CID_STR_MAX];
	struct phr_cid c, cap;
	uint8_t *key;
	int rv;

	if (phr_node_i_capsule_get(n, cid, record, reader) == PHR_OK)
		return PHR_OK;
	rv = phr_node_i_capsule_get(n, cid, record, patient->address);
	if (rv == PHR_ERR_NOT_FOUND) /* minted on another node */
		rv = phr_node_i_peer_capsule(n, cid, record, patient->address);
	if (rv != PHR_OK || (rv = phr_cid_parse(&c, cid)) != PHR_OK)
		return rv;
	key = phr_crypto_key_new();
	if (key == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_store_open_capsule(n->store, key, &c, patient->box_pk, patient->box_sk);
	if (rv == PHR_OK)
		rv = phr_node_i_add_capsule(n, &cap, reader_pk, key);
	phr_crypto_key_free(key);
	if (rv == PHR_OK)
		rv = phr_cid_format(cid, sizeof(cid), &cap);
	if (rv == PHR_OK)
		rv = phr_node_i_capsule_put(n, record, reader, cid);
	return rv;
}

/* After a recovery the owner is not the patient id, and records minted since
 * (sealed to the patient's registered key: the owner's, once it ran
 * `phr recovery update-key`) are indexed for the patient id: the owner gets
 * that capsule (docs/recovery.md). Caller holds the lock. */
static int owner_capsule(struct phr_node *n, struct phr_record_meta *m,
			 const struct phr_u256 *record, const uint8_t raddr[20])
{
	struct phr_buf cd, out;
	uint8_t owner[20];
	int rv;

	if (memcmp(raddr, m->patient, 20) == 0)
		return PHR_ERR_NOT_FOUND;
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	rv = phr_contracts_patient_registry_owner_of_patient_encode(&cd, m->patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_owner_of_patient_decode(owner, out.data, out.len);
	if (rv == PHR_OK && memcmp(owner, raddr, 20) != 0)
		rv = PHR_ERR_NOT_FOUND;
	if (rv == PHR_OK)
		rv = phr_node_i_capsule_get(n, m->capsule_cid, record, m->patient);
	if (rv == PHR_OK) {
		/* a hosted owner: only a capsule its key opens (older ones need the re-wrap) */
		const struct phr_identity *me = phr_node_identity(n, raddr);
		struct phr_cid c;
		uint8_t *key = me != NULL ? phr_crypto_key_new() : NULL;
		if (me != NULL && (key == NULL || phr_cid_parse(&c, m->capsule_cid) != PHR_OK ||
				   phr_store_open_capsule(n->store, key, &c, me->box_pk, me->box_sk) != PHR_OK))
			rv = PHR_ERR_NOT_FOUND;
		if (key != NULL)
			phr_crypto_key_free(key);
	}
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

/* The reader's capsule of @p record (local, from a peer, the owner's, or wrapped by a hosted
 * patient) in m->capsule_cid, and the ciphertext's blocks at hand; the access decision was
 * made. */
static int record_capsule(struct phr_node *n, struct phr_record_meta *m, const uint8_t raddr[20],
			  const struct phr_u256 *record)
{
	if (phr_node_i_capsule_get(n, m->capsule_cid, record, raddr) != PHR_OK &&
	    phr_node_i_peer_capsule(n, m->capsule_cid, record, raddr) != PHR_OK &&
	    owner_capsule(n, m, record, raddr) != PHR_OK) {
		/* the patient's client wraps the key to the reader when it is hosted here */
		const struct phr_identity *pat = phr_node_identity(n, m->patient);
		uint8_t pk[32];
		if (pat == NULL || phr_node_i_enc_key(n, pk, raddr) != PHR_OK ||
		    phr_node_i_share_record(n, pat, record, raddr, pk) != PHR_OK ||
		    phr_node_i_capsule_get(n, m->capsule_cid, record, raddr) != PHR_OK) {
			phr_node_i_deny(n, raddr, m->patient, record, "no key capsule");
			return PHR_ERR_FORBIDDEN;
		}
	}
	m->has_capsule = true;
	{
		/* the ciphertext may live on another node: fetch it through a gateway */
		struct phr_cid root;
		if (phr_cid_parse(&root, m->cid) == PHR_OK && phr_node_i_ensure_blocks(n, &root) != PHR_OK)
			phr_log_warn("phr", "ciphertext %s is not in the store and no peer has it", m->cid);
	}
	return PHR_OK;
}

/* recordOf of @p record for reader @p raddr (a missing token is a denial). */
static int record_meta_for(struct phr_node *n, struct phr_record_meta *m, const uint8_t raddr[20],
			   const struct phr_u256 *record)
{
	int rv = record_meta(n, m, record);

	if (rv == PHR_ERR_NOT_FOUND)
		phr_node_i_deny(n, raddr, NULL, record, "no such record");
	return rv;
}

/* record_meta_for, from the fields kept of an earlier recordOf when there are (txq.h): whether
 * the token still lives is then left to the access decision or to logViews. */
static int record_meta_kept(struct phr_node *n, struct phr_record_meta *m, const uint8_t raddr[20],
			    const struct phr_u256 *record)
{
	int rv;

	if (phr_txq_i_meta_get(n->txq, m, record))
		return PHR_OK;
	rv = record_meta_for(n, m, raddr, record);
	if (rv == PHR_OK)
		phr_txq_i_meta_put(n->txq, m);
	return rv;
}

/* canAccess(reader, m->patient, record, Read) of a live record, denial logged. */
static int record_decide(struct phr_node *n, const struct phr_record_meta *m, const uint8_t raddr[20],
			 const struct phr_u256 *record)
{
	bool ok = false;
	int rv;

	if ((rv = can_access_locked(n, &ok, raddr, m->patient, record, PHR_LEVEL_READ)) != PHR_OK)
		return rv;
	if (!ok) {
		phr_node_i_deny(n, raddr, m->patient, record, "no active grant");
		return PHR_ERR_FORBIDDEN;
	}
	return PHR_OK;
}

/*
 * The access decision and the reader's capsule, for a reader at @p raddr
 * (hosted identity @p hosted or NULL). Caller holds the lock. recordOf has just answered
 * (the token lives and is m->patient's), so canAccess of the record is true whenever
 * canAccess(reader, patient, 0, Read) is (records_decide): that one is asked first — the
 * owner, an emergency session and grants on all records decide it, and the chain's memo
 * keeps its answer per reader and patient rather than per record — and the record itself
 * only when it says no (category and record grants).
 */
static int record_access_locked(struct phr_node *n, struct phr_record_meta *m, const uint8_t raddr[20],
				const struct phr_u256 *record)
{
	const struct phr_u256 zero = PHR_U256_ZERO;
	bool whole = false;
	int rv;

	if ((rv = record_meta_for(n, m, raddr, record)) != PHR_OK ||
	    (rv = can_access_locked(n, &whole, raddr, m->patient, &zero, PHR_LEVEL_READ)) != PHR_OK ||
	    (!whole && (rv = record_decide(n, m, raddr, record)) != PHR_OK))
		return rv;
	return record_capsule(n, m, raddr, record);
}

static int record_open_locked(struct phr_node *n, struct phr_record_meta *meta,
			      const struct phr_identity *reader, const struct phr_u256 *record,
			      unsigned purpose)
{
	struct phr_record_meta m;
	int rv;

	if (purpose > PHR_PURPOSE_MAX)
		return PHR_ERR_INVALID;
	/* announced: a group of this reader's Views being formed waits for it (txq.c) */
	phr_node_i_view_announce(n, reader->address, true);
	if ((rv = record_access_locked(n, &m, reader->address, record)) != PHR_OK) {
		phr_node_i_view_announce(n, reader->address, false);
		return rv;
	}
	/* grouped with the concurrent Views of this reader (txq.c) */
	rv = phr_node_i_log_view_announced(n, reader, m.patient, record, purpose);
	if (rv == PHR_ERR_FORBIDDEN)
		phr_node_i_deny(n, reader->address, m.patient, record, "audit refused");
	if (rv == PHR_OK)
		*meta = m;
	return rv;
}

/* Does @p r prove that @p reader logged View of @p record of @p patient? */
static bool receipt_proves_view(struct phr_node *n, const struct phr_chain_receipt *r,
				const uint8_t reader[20], const uint8_t patient[20],
				const struct phr_u256 *record)
{
	if (!r->status || memcmp(r->from, reader, 20) != 0)
		return false;
	for (size_t i = 0; i < r->logs_count; i++) {
		struct phr_contracts_audit_trail_audit_logged_event ev;
		if (memcmp(r->logs[i].address, n->dep.audit, 20) != 0 ||
		    phr_contracts_audit_trail_audit_logged_event_decode(
			    &ev, (const uint8_t(*)[32])r->logs[i].topics, r->logs[i].topics_count,
			    r->logs[i].data, r->logs[i].data_len) != PHR_OK)
			continue;
		if (memcmp(ev.patient, patient, 20) == 0 && memcmp(ev.accessor, reader, 20) == 0 &&
		    phr_u256_eq(&ev.record_id, record) && ev.action == PHR_AUDIT_VIEW)
			return true;
	}
	return false;
}

int phr_node_record_open_audited(struct phr_node *n, struct phr_record_meta *meta,
				 const uint8_t reader[20], const struct phr_u256 *record,
				 const uint8_t audit_tx[32])
{
	struct phr_record_meta m;
	struct phr_chain_receipt r;
	sqlite3_stmt *st = NULL;
	uint64_t head = 0;
	int rv;

	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&n->lock);
	rv = record_meta(n, &m, record);
	if (rv != PHR_OK)
		goto out;
	if ((rv = phr_chain_receipt(n->chain, &r, audit_tx)) != PHR_OK ||
	    (rv = phr_chain_block_number(n->chain, &head)) != PHR_OK) {
		if (rv == PHR_ERR_NOT_FOUND)
			rv = PHR_ERR_UNAUTHENTICATED;
		goto out;
	}
	if (!receipt_proves_view(n, &r, reader, m.patient, record) || r.block_number + 256 < head) {
		phr_node_i_deny(n, reader, m.patient, record, "audit transaction does not prove a View");
		rv = PHR_ERR_UNAUTHENTICATED;
		goto out;
	}
	/* each View transaction opens one read */
	if ((st = phr_txq_i_stmt(n->txq, PHR_TXQ_SQL_AUDIT_TX)) == NULL) {
		rv = PHR_ERR_DB;
		goto out;
	}
	sqlite3_bind_blob(st, 1, audit_tx, 32, SQLITE_STATIC);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_CONFLICT;
	phr_txq_i_stmt_done(n->txq, PHR_TXQ_SQL_AUDIT_TX);
	if (rv != PHR_OK)
		goto out;
	rv = record_access_locked(n, &m, reader, record);
	if (rv == PHR_OK)
		*meta = m;
out:
	phr_chain_receipt_release(&r);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

int phr_node_record_open(struct phr_node *n, struct phr_record_meta *meta,
			 const struct phr_identity *reader, const struct phr_u256 *record,
			 unsigned purpose)
{
	int rv;

	/* no node lock: view calls, the capsule index and the store are thread-safe */
	rv = record_open_locked(n, meta, reader, record, purpose);
	return rv;
}

static int read_fd(struct phr_buf *out, int fd)
{
	uint8_t tmp[65536];
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return PHR_ERR_IO;
	while ((r = read(fd, tmp, sizeof(tmp))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PHR_ERR_IO;
		if (phr_buf_append(out, tmp, (size_t)r) != PHR_OK)
			return PHR_ERR_TOO_LARGE;
	}
	return PHR_OK;
}

/* Opens the capsule of @p m with @p reader's key, decrypts the ciphertext and checks its hash;
 * the plaintext appended to @p plaintext. */
static int record_decrypt(struct phr_node *n, struct phr_buf *plaintext, const struct phr_record_meta *m,
			  const struct phr_identity *reader)
{
	struct phr_cid cap, root;
	struct phr_buf env;
	uint8_t *key = NULL, h[32];
	int fd = -1, rv;

	phr_buf_init(&env, PHR_RECORD_MAX + SALT_BYTES);
	key = phr_crypto_key_new();
	fd = memfd_create("phr-read", MFD_CLOEXEC);
	if (key == NULL || fd < 0) {
		rv = key == NULL ? PHR_ERR_NOMEM : PHR_ERR_IO;
		goto out;
	}
	if ((rv = phr_cid_parse(&cap, m->capsule_cid)) != PHR_OK ||
	    (rv = phr_cid_parse(&root, m->cid)) != PHR_OK ||
	    (rv = phr_store_open_capsule(n->store, key, &cap, reader->box_pk, reader->box_sk)) !=
		    PHR_OK ||
	    (rv = phr_store_cat_decrypted_fd(n->store, &root, fd, key)) != PHR_OK ||
	    (rv = read_fd(&env, fd)) != PHR_OK)
		goto out;
	if (env.len < SALT_BYTES) {
		rv = PHR_ERR_CORRUPT;
		goto out;
	}
	data_hash(h, env.data, env.data + SALT_BYTES, env.len - SALT_BYTES);
	if (sodium_memcmp(h, m->data_hash, 32) != 0) {
		rv = PHR_ERR_CORRUPT;
		goto out;
	}
	rv = phr_buf_append(plaintext, env.data + SALT_BYTES, env.len - SALT_BYTES);
out:
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0)
			rv = rv == PHR_OK ? PHR_ERR_IO : rv;
		close(fd);
	}
	if (env.data != NULL)
		sodium_memzero(env.data, env.len);
	phr_buf_release(&env);
	phr_crypto_key_free(key);
	return rv;
}

int phr_node_record_read(struct phr_node *n, struct phr_buf *plaintext,
			 struct phr_record_meta *meta, const struct phr_identity *reader,
			 const struct phr_u256 *record, unsigned purpose)
{
	struct phr_record_meta m;
	int rv;

	rv = record_open_locked(n, &m, reader, record, purpose);
	if (rv == PHR_OK)
		rv = record_decrypt(n, plaintext, &m, reader);
	if (rv == PHR_OK && meta != NULL)
		*meta = m;
	return rv;
}

/* Whether records of @p patient are read more than once in @p it (from @p i on, OK so far). */
static bool patient_repeats(const struct phr_record_read *it, const struct phr_record_meta *m,
			    size_t count, size_t i)
{
	for (size_t j = i + 1; j < count; j++)
		if (it[j].result == PHR_OK && memcmp(m[j].patient, m[i].patient, 20) == 0)
			return true;
	return false;
}

/*
 * The access decisions of the records in @p it that are still PHR_OK. canAccess(reader,
 * patient, r, Read) of a live record r of that patient (recordOf answered, with that
 * patient) is true whenever canAccess(reader, patient, 0, Read) is (the owner, an active
 * emergency, a grant on all records: PatientRegistry.canAccess checks these before the
 * category and record grants, and with r only adds "live and of this patient"): one call
 * per patient of several records decides them; when it is false each record is asked
 * alone (category and record grants). A record of the patient its item names as granted
 * (a decision the caller made in this request) is allowed without a call. AuditTrail.logViews
 * checks every entry again.
 */
static void records_decide(struct phr_node *n, struct phr_record_read *it, const struct phr_record_meta *m,
			   size_t count, const uint8_t raddr[20])
{
	const struct phr_u256 zero = PHR_U256_ZERO;
	uint8_t *asked = phr_calloc(count, 1); /* 1: the patient-level call was made here; 2: true */

	for (size_t i = 0; i < count; i++) {
		bool ok = false;
		if (it[i].result != PHR_OK ||
		    (it[i].granted != NULL && memcmp(it[i].granted, m[i].patient, 20) == 0))
			continue; /* decided by the caller in this request */
		if (asked != NULL && asked[i] == 0 && patient_repeats(it, m, count, i)) {
			int rv = can_access_locked(n, &ok, raddr, m[i].patient, &zero, PHR_LEVEL_READ);
			for (size_t j = i; j < count; j++)
				if (it[j].result == PHR_OK && memcmp(m[j].patient, m[i].patient, 20) == 0)
					asked[j] = rv == PHR_OK && ok ? 2 : 1;
		}
		if (asked == NULL || asked[i] != 2)
			it[i].result = record_decide(n, &m[i], raddr, it[i].record);
	}
	phr_free(asked);
}

int phr_node_records_read(struct phr_node *n, struct phr_record_read *it, size_t count,
			  const struct phr_identity *reader)
{
	struct phr_record_meta *m;
	struct phr_node_view *v;
	size_t nv = 0, announced = 0;
	int rv = PHR_OK;

	if (count == 0)
		return PHR_OK;
	m = phr_calloc(count, sizeof(*m));
	v = phr_calloc(count, sizeof(*v));
	if (m == NULL || v == NULL) {
		phr_free(m);
		phr_free(v);
		for (size_t i = 0; i < count; i++)
			it[i].result = PHR_ERR_NOMEM;
		return PHR_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		it[i].result = it[i].purpose > PHR_PURPOSE_MAX ? PHR_ERR_INVALID : PHR_OK;
		announced += it[i].result == PHR_OK;
	}
	/* announced: a group of this reader's Views being formed waits for them (txq.c) */
	phr_node_i_views_announce(n, reader->address, true, announced);
	for (size_t i = 0; i < count; i++)
		if (it[i].result == PHR_OK)
			it[i].result = record_meta_kept(n, &m[i], reader->address, it[i].record);
	records_decide(n, it, m, count, reader->address);
	for (size_t i = 0; i < count; i++) {
		if (it[i].result == PHR_OK)
			it[i].result = record_capsule(n, &m[i], reader->address, it[i].record);
		if (it[i].result == PHR_OK)
			v[nv++] = (struct phr_node_view){ m[i].patient, it[i].record, it[i].purpose, PHR_OK };
	}
	/* the ones that ended before their View */
	phr_node_i_views_announce(n, reader->address, false, announced - nv);
	/* every View on chain (one wait) before anything is decrypted */
	if (nv > 0 && (rv = phr_node_i_log_views_announced(n, reader, v, nv)) != PHR_OK) {
		for (size_t i = 0; i < count; i++)
			if (it[i].result == PHR_OK)
				it[i].result = rv; /* not logged: not read */
		goto out;
	}
	for (size_t i = 0, k = 0; i < count; i++) {
		if (it[i].result != PHR_OK)
			continue;
		it[i].result = v[k++].result;
		if (it[i].result == PHR_ERR_FORBIDDEN) {
			/* burnt since its fields were kept, or access ended: ask recordOf next time */
			phr_txq_i_meta_drop(n->txq, it[i].record);
			phr_node_i_deny(n, reader->address, m[i].patient, it[i].record, "audit refused");
		}
		if (it[i].result == PHR_OK)
			it[i].result = record_decrypt(n, it[i].plaintext, &m[i], reader);
	}
out:
	phr_free(v);
	phr_free(m);
	return rv;
}

int phr_node_records_list(struct phr_node *n, json_t **out, const uint8_t patient[20])
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	uint8_t t1[32];
	json_t *arr;
	int rv;

	arr = json_array();
	if (arr == NULL)
		return PHR_ERR_NOMEM;
	phr_node_i_addr_topic(t1, patient);
	pthread_mutex_lock(&n->lock);
	/* RecordMinted(tokenId indexed, patient indexed, provider indexed, ...) */
	rv = phr_node_i_logs(n, &logs, &count, n->dep.nft,
			     phr_contracts_health_record_nft_record_minted_event_topic, NULL, t1);
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		json_t *o;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		o = json_pack("{s:o,s:o,s:o,s:I,s:s%,s:o,s:o,s:I}", "id",
			      phr_node_i_ju256(&ev.token_id), "patient", phr_node_i_jaddr(ev.patient),
			      "provider", phr_node_i_jaddr(ev.provider), "type",
			      (json_int_t)ev.record_type, "cid", (const char *)ev.cid.data,
			      ev.cid.len, "dataHash", phr_node_i_jhex(ev.data_hash, 32),
			      "supersedes", phr_node_i_ju256(&ev.supersedes), "block",
			      (json_int_t)logs[i].block_number);
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			rv = PHR_ERR_NOMEM;
	}
	phr_chain_logs_free(logs, count);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

int phr_node_capsule_add(struct phr_node *n, char cid[PHR_CID_STR_MAX], const uint8_t uploader[20],
			 const struct phr_u256 *record, const uint8_t reader[20],
			 const uint8_t capsule[80])
{
	struct phr_record_meta m;
	struct phr_cid c;
	char text[PHR_CID_STR_MAX];
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = record_meta(n, &m, record);
	if (rv == PHR_OK && memcmp(m.patient, uploader, 20) != 0 &&
	    memcmp(m.provider, uploader, 20) != 0)
		rv = PHR_ERR_FORBIDDEN;
	if (rv == PHR_OK)
		rv = phr_store_add_bytes(n->store, &c, capsule, PHR_CRYPTO_CAPSULE_BYTES, NULL);
	if (rv == PHR_OK)
		rv = phr_cid_format(text, sizeof(text), &c);
	if (rv == PHR_OK)
		rv = phr_node_i_capsule_put(n, record, reader, text);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK)
		memcpy(cid, text, strlen(text) + 1);
	return rv;
}
