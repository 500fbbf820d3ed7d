import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import AdmZip from 'adm-zip';
import tar from 'tar-stream';
import { EdgefleetError } from '@edgefleet/shared';

export type ArchiveKind = 'tar.gz' | 'zip';

/** What the file name says it is: `.tar.gz`/`.tgz` or `.zip`; undefined for anything else (a directory, a model file). */
export function archiveKind(path: string): ArchiveKind | undefined {
  const p = path.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'tar.gz';
  if (p.endsWith('.zip')) return 'zip';
  return undefined;
}

export interface ExtractOptions {
  /** Most bytes the archive may expand to (the sum of its files); past it the extraction stops. */
  maxBytes: number;
  /** Most entries it may hold. @default 10000 */
  maxEntries?: number;
}

const refused = (archive: string, message: string, cause?: unknown): EdgefleetError =>
  new EdgefleetError('ARCHIVE_REFUSED', `${archive}: ${message}`, cause === undefined ? undefined : { cause });

/**
 * Where an entry lands under `dest`, or a refusal: an absolute name, a drive letter, a backslash
 * (a Windows separator that would mean something else on extraction elsewhere) or a `..` that
 * leaves `dest` never gets written.
 */
function entryTarget(archive: string, dest: string, name: string): string {
  if (name.includes('\0') || name.includes('\\') || isAbsolute(name) || /^[a-zA-Z]:/.test(name)) {
    throw refused(archive, `entry ${JSON.stringify(name)} has an absolute or non-portable path`);
  }
  const target = resolve(dest, name);
  const rel = relative(dest, target);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw refused(archive, `entry ${JSON.stringify(name)} leaves the archive's directory`);
  return target;
}

/** A file entry must name something below `dest`; `./` is fine only as a directory (what `tar -C dir .` writes). */
function fileTarget(archive: string, dest: string, name: string): string {
  const target = entryTarget(archive, dest, name);
  if (target === resolve(dest)) throw refused(archive, `file entry ${JSON.stringify(name)} has no file name`);
  return target;
}

const tooLarge = (archive: string, max: number): EdgefleetError => refused(archive, `expands past the limit of ${max} bytes (raise it with --max-unpacked-bytes if the model really is that large)`);

/**
 * Links are refused outright rather than checked for escaping: a link that stays inside can still
 * be written through by a later entry, and an MLflow model directory holds none.
 */
const linkRefused = (archive: string, name: string, type: string): EdgefleetError =>
  refused(archive, `entry ${JSON.stringify(name)} is a ${type}; links and special files are not extracted`);

/** Files are opened exclusive ('wx'): a second entry of the same name is refused, not written over the first. */
const duplicate = (archive: string, name: string) => (err: unknown): never => {
  if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw refused(archive, `names the file ${JSON.stringify(name)} twice`, err);
  throw err;
};

async function extractTarGz(archive: string, dest: string, opts: Required<ExtractOptions>): Promise<void> {
  const extract = tar.extract();
  let total = 0;
  let entries = 0;
  const entry = async (header: tar.Headers, stream: NodeJS.ReadableStream): Promise<void> => {
    if (++entries > opts.maxEntries) throw refused(archive, `holds more than ${opts.maxEntries} entries`);
    const target = entryTarget(archive, dest, header.name);
    const type = header.type ?? 'file';
    if (type === 'directory') {
      await mkdir(target, { recursive: true });
      stream.resume();
      return;
    }
    if (type !== 'file' && type !== 'contiguous-file') throw linkRefused(archive, header.name, type);
    fileTarget(archive, dest, header.name);
    if (total + (header.size ?? 0) > opts.maxBytes) throw tooLarge(archive, opts.maxBytes);
    await mkdir(dirname(target), { recursive: true });
    // Counted as it flows too, so the limit holds whatever the header claims.
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        total += chunk.length;
        done(total > opts.maxBytes ? tooLarge(archive, opts.maxBytes) : null, chunk);
      },
    });
    await pipeline(stream, count, createWriteStream(target, { flags: 'wx' })).catch(duplicate(archive, header.name));
  };
  extract.on('entry', (header, stream, next) => {
    entry(header, stream).then(
      () => next(),
      (err: unknown) => {
        stream.resume();
        extract.destroy(err as Error);
      },
    );
  });
  try {
    await pipeline(createReadStream(archive), createGunzip(), extract);
  } catch (cause) {
    if (cause instanceof EdgefleetError) throw cause;
    throw refused(archive, `is not a readable .tar.gz archive (${(cause as Error).message})`, cause);
  }
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

async function extractZip(archive: string, dest: string, opts: Required<ExtractOptions>): Promise<void> {
  // adm-zip reads the whole file; one bigger than the limit is refused before that.
  if ((await stat(archive)).size > opts.maxBytes) throw tooLarge(archive, opts.maxBytes);
  let list: AdmZip.IZipEntry[];
  try {
    list = new AdmZip(archive).getEntries();
  } catch (cause) {
    throw refused(archive, `is not a readable .zip archive (${(cause as Error).message})`, cause);
  }
  if (list.length > opts.maxEntries) throw refused(archive, `holds more than ${opts.maxEntries} entries`);
  // Every entry is checked before one is written; adm-zip caps each inflation at the declared size,
  // so the sum of declared sizes bounds what extraction can produce.
  let total = 0;
  for (const e of list) {
    if (e.isDirectory) entryTarget(archive, dest, e.entryName);
    else fileTarget(archive, dest, e.entryName);
    const mode = (e.header.attr >>> 16) & S_IFMT;
    if (mode !== 0 && mode !== S_IFDIR && mode !== S_IFREG) throw linkRefused(archive, e.entryName, mode === 0o120000 ? 'symlink' : 'special file');
    if (e.header.encrypted) throw refused(archive, `entry ${JSON.stringify(e.entryName)} is encrypted`);
    total += e.header.size;
    if (total > opts.maxBytes) throw tooLarge(archive, opts.maxBytes);
  }
  for (const e of list) {
    const target = entryTarget(archive, dest, e.entryName);
    if (e.isDirectory) {
      await mkdir(target, { recursive: true });
      continue;
    }
    let data: Buffer;
    try {
      data = e.getData();
    } catch (cause) {
      throw refused(archive, `entry ${JSON.stringify(e.entryName)} cannot be read (${String((cause as Error)?.message ?? cause)})`, cause);
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data, { flag: 'wx' }).catch(duplicate(archive, e.entryName));
  }
}

/**
 * Extracts a `.tar.gz`/`.tgz` or `.zip` archive into `dest` (an empty directory the caller owns and
 * removes). Refused with ARCHIVE_REFUSED: entries with absolute paths or `..` leaving `dest`, links
 * and special files, duplicate names, more than `maxBytes` of content or `maxEntries` entries, and
 * files that are not such archives.
 */
export async function extractArchive(archive: string, dest: string, options: ExtractOptions): Promise<void> {
  const kind = archiveKind(archive);
  if (!kind) throw refused(archive, 'is not a .tar.gz, .tgz or .zip archive');
  const opts = { maxEntries: 10_000, ...options };
  await (kind === 'zip' ? extractZip(archive, dest, opts) : extractTarGz(archive, dest, opts));
}
