// AccessKeySecrets at rest: AES-256-GCM under the operator's key, so a copy of the database alone
// reveals no usable secret. Reversible on purpose: verifying an HMAC signature needs the secret
// itself, so a one-way hash could not be checked against a request.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const SECRET_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The encoding name stored beside each sealed secret. */
export const SEALED = 'aes-256-gcm';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`a secret key is ${SECRET_KEY_BYTES} bytes`);
  }

  /**
   * base64 of IV, tag and ciphertext. `context` (the AccessKeyId) is authenticated with it, so a
   * sealed secret copied onto another key's row does not open there.
   */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
  }

  /** Throws if the key is not the one that sealed it, or the text was changed. */
  open(sealed: string, context: string): string {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }
}
