/**
 * cfkit's one model file format (version 1), little-endian:
 *
 *   0   8  magic "CFKITMDL"
 *   8   4  u32 format version
 *   12  4  u32 header length H
 *   16  4  u32 CRC-32 of the header
 *   20  H  header: UTF-8 JSON {type, cfkitVersion, params, meta, sections: [{name, dtype, length,
 *          offset, bytes, crc32}]}
 *   ...    section payloads, each at its 8-byte-aligned offset
 *   end 8  trailer "CFKITEND"
 *
 * Every section carries its own CRC-32, so a damaged file is reported by section name. Readers check
 * every length and offset against the file size before allocating anything: sections must lie in the
 * file after the header, be disjoint and have distinct names, so the payloads together never exceed
 * the file and reading allocates at most about the file's size (plus what its JSON sections parse
 * into). A corrupt, truncated or crafted file is an E_FORMAT error, never a crash or a huge
 * allocation.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { FormatError, IOError } from '../errors';
import { writeAll, writeFileAtomic } from './atomic';

export const MAGIC = Buffer.from('CFKITMDL', 'latin1');
export const TRAILER = Buffer.from('CFKITEND', 'latin1');
export const FORMAT_VERSION = 1;
const PREAMBLE = 20;

export type SectionData = Float32Array | Float64Array | Int32Array | Uint8Array;
export type DType = 'f32' | 'f64' | 'i32' | 'u8' | 'json';

export interface SectionEntry {
  name: string;
  dtype: DType;
  length: number;
  offset: number;
  bytes: number;
  crc32: number;
}

export interface ModelFile {
  type: string;
  cfkitVersion: string;
  params: Record<string, unknown>;
  meta: Record<string, unknown>;
  sections: Map<string, SectionData | unknown>;
}

const ELEMENT: Record<DType, number> = { f32: 4, f64: 8, i32: 4, u8: 1, json: 1 };

// By tag, not instanceof: arrays made by the addon or another realm (vm, jest) have other constructors.
function dtypeOf(v: SectionData | unknown): DType {
  switch (Object.prototype.toString.call(v)) {
    case '[object Float32Array]': return 'f32';
    case '[object Float64Array]': return 'f64';
    case '[object Int32Array]': return 'i32';
    case '[object Uint8Array]': return 'u8';
    default: return 'json';
  }
}

function bytesOf(v: SectionData | unknown, dtype: DType): Uint8Array {
  if (dtype === 'json') return Buffer.from(JSON.stringify(v), 'utf8');
  const a = v as SectionData;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Writes a model file atomically. Typed arrays are stored raw; anything else as JSON. */
export async function writeModelFile(
  file: string,
  model: { type: string; cfkitVersion: string; params: Record<string, unknown>; meta: Record<string, unknown> },
  sections: [string, SectionData | unknown][],
): Promise<void> {
  const payloads = sections.map(([name, value]) => {
    const dtype = dtypeOf(value);
    const bytes = bytesOf(value, dtype);
    const length = dtype === 'json' ? bytes.length : (value as SectionData).length;
    return { name, dtype, bytes, length, crc32: zlib.crc32(bytes) >>> 0 };
  });
  // The header lists the payload offsets, which depend on the header's own size: reserve room,
  // lay the payloads out after it, and pad the JSON with spaces to exactly the reserved size.
  let reserve = 0;
  let headerBytes: Buffer;
  let table: SectionEntry[];
  for (;;) {
    let offset = align8(PREAMBLE + reserve);
    table = payloads.map((p) => {
      const e = { name: p.name, dtype: p.dtype, length: p.length, offset, bytes: p.bytes.length, crc32: p.crc32 };
      offset = align8(offset + p.bytes.length);
      return e;
    });
    const json = Buffer.from(JSON.stringify({ ...model, sections: table }), 'utf8');
    if (json.length <= reserve) {
      headerBytes = Buffer.concat([json, Buffer.alloc(reserve - json.length, 0x20)]);
      break;
    }
    reserve = json.length + 64;
  }
  const pre = Buffer.alloc(PREAMBLE);
  MAGIC.copy(pre, 0);
  pre.writeUInt32LE(FORMAT_VERSION, 8);
  pre.writeUInt32LE(headerBytes.length, 12);
  pre.writeUInt32LE(zlib.crc32(headerBytes) >>> 0, 16);
  await writeFileAtomic(file, async (fd) => {
    await writeAll(fd, pre);
    await writeAll(fd, headerBytes);
    let pos = PREAMBLE + headerBytes.length;
    for (let k = 0; k < payloads.length; k++) {
      const pad = table[k].offset - pos;
      if (pad > 0) await writeAll(fd, Buffer.alloc(pad));
      await writeAll(fd, payloads[k].bytes);
      pos = table[k].offset + payloads[k].bytes.length;
    }
    const end = align8(pos);
    if (end > pos) await writeAll(fd, Buffer.alloc(end - pos));
    await writeAll(fd, TRAILER);
  });
}

/**
 * The section table, checked before any payload is read: well-formed entries with distinct names,
 * each inside [first, end), 8-byte aligned and disjoint from the others (so aliases of one payload
 * cannot multiply what loading allocates). Sorted by offset.
 */
function checkSectionTable(raw: unknown, first: number, end: number, bad: (why: string) => FormatError): SectionEntry[] {
  if (!Array.isArray(raw)) throw bad('header lacks sections');
  const names = new Set<string>();
  const table = raw.map((entry: unknown) => {
    const { name, dtype, length, offset, bytes, crc32 } = (entry ?? {}) as SectionEntry;
    if (typeof name !== 'string' || typeof dtype !== 'string' || !Object.hasOwn(ELEMENT, dtype)) throw bad('malformed section entry');
    if (names.has(name)) throw bad(`section '${name}' appears twice`);
    names.add(name);
    if (![length, offset, bytes, crc32].every((x) => Number.isSafeInteger(x) && x >= 0)) throw bad(`section '${name}' has invalid bounds`);
    if (offset % 8 !== 0 || offset < first || offset + bytes > end) throw bad(`section '${name}' lies outside the file`);
    if (dtype !== 'json' && bytes !== length * ELEMENT[dtype]) throw bad(`section '${name}' has inconsistent length`);
    return { name, dtype, length, offset, bytes, crc32 };
  });
  table.sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < table.length; k++)
    if (table[k].offset < table[k - 1].offset + table[k - 1].bytes)
      throw bad(`sections '${table[k - 1].name}' and '${table[k].name}' overlap`);
  return table;
}

async function readExactly(fd: fs.promises.FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fd.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new FormatError(`${file} is truncated`, { path: file });
    off += bytesRead;
  }
}

/** Reads and verifies a model file; every defect is a FormatError naming what is wrong. */
export async function readModelFile(file: string): Promise<ModelFile> {
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(file, 'r');
  } catch (err) {
    throw new IOError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const stat = await fd.stat();
    if (!stat.isFile()) throw new IOError(`cannot read ${file}: ${stat.isDirectory() ? 'it is a directory' : 'not a regular file'}`);
    const size = stat.size;
    const bad = (why: string) => new FormatError(`${file} is not a valid cfkit model: ${why}`, { path: file });
    if (size < PREAMBLE + TRAILER.length) throw bad('file too short');
    const pre = Buffer.alloc(PREAMBLE);
    await readExactly(fd, pre, 0, file);
    if (!pre.subarray(0, 8).equals(MAGIC)) throw bad('wrong magic number');
    const version = pre.readUInt32LE(8);
    if (version !== FORMAT_VERSION) throw bad(`format version ${version} is not supported (expected ${FORMAT_VERSION})`);
    const hlen = pre.readUInt32LE(12);
    if (hlen === 0 || PREAMBLE + hlen + TRAILER.length > size) throw bad('header length exceeds the file (truncated?)');
    const trailer = Buffer.alloc(TRAILER.length);
    await readExactly(fd, trailer, size - TRAILER.length, file);
    if (!trailer.equals(TRAILER)) throw bad('missing end marker (truncated or damaged)');
    const header = Buffer.alloc(hlen);
    await readExactly(fd, header, PREAMBLE, file);
    if ((zlib.crc32(header) >>> 0) !== pre.readUInt32LE(16)) throw bad('header checksum mismatch');
    let parsed: { type?: unknown; cfkitVersion?: unknown; params?: unknown; meta?: unknown; sections?: unknown };
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      throw bad('header is not valid JSON');
    }
    if (typeof parsed.type !== 'string') throw bad('header lacks a type');
    const sections = new Map<string, SectionData | unknown>();
    const table = checkSectionTable(parsed.sections, PREAMBLE + hlen, size - TRAILER.length, bad);
    for (const { name, dtype, length, offset, bytes, crc32 } of table) {
      const buf = new Uint8Array(new ArrayBuffer(align8(bytes)), 0, bytes);
      await readExactly(fd, buf, offset, file);
      if ((zlib.crc32(buf) >>> 0) !== crc32) throw bad(`section '${name}' checksum mismatch`);
      let value: SectionData | unknown;
      switch (dtype) {
        case 'f32': value = new Float32Array(buf.buffer, 0, length); break;
        case 'f64': value = new Float64Array(buf.buffer, 0, length); break;
        case 'i32': value = new Int32Array(buf.buffer, 0, length); break;
        case 'u8': value = buf; break;
        default:
          try {
            value = JSON.parse(Buffer.from(buf.buffer, 0, bytes).toString('utf8'));
          } catch {
            throw bad(`section '${name}' is not valid JSON`);
          }
      }
      sections.set(name, value);
    }
    return {
      type: parsed.type,
      cfkitVersion: String(parsed.cfkitVersion ?? ''),
      params: (parsed.params ?? {}) as Record<string, unknown>,
      meta: (parsed.meta ?? {}) as Record<string, unknown>,
      sections,
    };
  } finally {
    await fd.close();
  }
}

/** Typed access to a section, or a FormatError saying which one is missing or of the wrong type. */
export function section<T>(file: ModelFile, name: string, ctor: new (...args: never[]) => T, path = ''): T {
  const v = file.sections.get(name);
  if (!(v instanceof ctor)) throw new FormatError(`${path || 'model file'}: section '${name}' is missing or has the wrong type`, { path });
  return v;
}
