/**
 * A 32-byte key kept in a file (base64 on one line, so an operator can back it up as text):
 * the local token key and the local signing key. Created on first use with mode 0600 in a
 * 0700 directory; a file others can read is reported, never echoed.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BrokerError } from '../errors';
import { logger } from '../logger';

export const KEY_FILE_BYTES = 32;

/** Reads the key at `path`, creating a random one there first if the file does not exist. `label` names it in messages. */
export async function loadOrCreateKeyFile(path: string, label: string): Promise<Buffer> {
  try {
    return await readKeyFile(path, label);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Write a temp file, then link it into place: link fails if another process won the race,
  // and a reader never sees a half-written key.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${randomBytes(KEY_FILE_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    logger.info(`Created local ${label} file`, { key_file: path });
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return readKeyFile(path, label);
}

async function readKeyFile(path: string, label: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  // Never echo the content: a near-miss key file is still mostly key.
  if (key.length !== KEY_FILE_BYTES || key.toString('base64') !== text) {
    throw new BrokerError('configuration_error', `Local ${label} file ${path} is malformed: expected ${KEY_FILE_BYTES} bytes in base64`);
  }
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    logger.warn(`Local ${label} file is readable by other users; chmod 600 it`, { key_file: path });
  }
  return key;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
