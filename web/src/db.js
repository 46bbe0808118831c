// IndexedDB: the password-encrypted keystores of this browser (store "keys",
// keyed by lower-case address). Nothing else is persisted: no token, no
// plaintext, no decrypted key.
const DB = 'phr-portal';

function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('keys', { keyPath: 'address' });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error || new Error('IndexedDB unavailable'));
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction('keys', mode);
    const req = fn(t.objectStore('keys'));
    t.oncomplete = () => { db.close(); resolve(req && req.result); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

export const listKeys = () => tx('readonly', (s) => s.getAll());
export const putKey = (entry) => tx('readwrite', (s) => s.put(entry));
export const deleteKey = (address) => tx('readwrite', (s) => s.delete(address));
