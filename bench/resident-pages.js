#!/usr/bin/env node
'use strict';
/**
 * Where a running process's resident memory is: its anonymous and file-backed totals
 * (/proc/PID/smaps_rollup), and the pages of its own executable that are resident, section by
 * section of the ELF file (the present bit of /proc/PID/pagemap for each page of the section's
 * addresses). For node, ICU's data (the `icudt*_dat` symbol, inside .rodata) is shown apart.
 * Run as root (pagemap) beside a process to look at, e.g. the agent of `npm start`:
 *   node bench/resident-pages.js $(pgrep -f ximp-agent.js)
 * Usage: node bench/resident-pages.js PID [PID...]
 */
const fs = require('node:fs');
const { memoryKinds } = require('./lib/proc-usage');

const PAGE_SIZE = 4096;
const SHF_ALLOC = 0x2;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const PRESENT = 1n << 63n;

/** The allocated sections of an ELF64 little-endian file and where ICU's data is, if it has it. */
function elfLayout(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const read = (offset, length) => {
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, offset);
      return buf;
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    const phoff = Number(header.readBigUInt64LE(32));
    const shoff = Number(header.readBigUInt64LE(40));
    const [phentsize, phnum, shentsize, shnum, shstrndx] = [54, 56, 58, 60, 62].map((at) => header.readUInt16LE(at));
    const sections = [];
    const table = read(shoff, shentsize * shnum);
    for (let i = 0; i < shnum; i++) {
      const s = table.subarray(i * shentsize);
      sections.push({
        nameAt: s.readUInt32LE(0),
        type: s.readUInt32LE(4),
        flags: Number(s.readBigUInt64LE(8)),
        addr: Number(s.readBigUInt64LE(16)),
        offset: Number(s.readBigUInt64LE(24)),
        size: Number(s.readBigUInt64LE(32)),
        link: s.readUInt32LE(40),
        entsize: Number(s.readBigUInt64LE(56)),
      });
    }
    const names = read(sections[shstrndx].offset, sections[shstrndx].size);
    for (const s of sections) s.name = names.toString('latin1', s.nameAt, names.indexOf(0, s.nameAt));
    // The first loadable segment's address: the load bias is where it was mapped less this.
    const programs = read(phoff, phentsize * phnum);
    let firstLoad = null;
    for (let i = 0; i < phnum && firstLoad === null; i++) {
      const p = programs.subarray(i * phentsize);
      if (p.readUInt32LE(0) === 1) firstLoad = { offset: Number(p.readBigUInt64LE(8)), vaddr: Number(p.readBigUInt64LE(16)) };
    }
    return { sections: sections.filter((s) => s.flags & SHF_ALLOC && s.size > 0), firstLoad, icu: icuData(sections, read) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The address range of the `icudt*_dat` symbol in the static symbol table, or null. */
function icuData(sections, read) {
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return null;
  const strings = read(sections[symtab.link].offset, sections[symtab.link].size);
  const symbols = read(symtab.offset, symtab.size);
  for (let at = 0; at + symtab.entsize <= symbols.length; at += symtab.entsize) {
    const nameAt = symbols.readUInt32LE(at);
    if (strings[nameAt] !== 0x69 || !strings.toString('latin1', nameAt, nameAt + 5).startsWith('icudt')) continue;
    const name = strings.toString('latin1', nameAt, strings.indexOf(0, nameAt));
    if (/^icudt\d+_dat$/.test(name)) return { name, addr: Number(symbols.readBigUInt64LE(at + 8)), size: Number(symbols.readBigUInt64LE(at + 16)) };
  }
  return null;
}

/** Resident pages among pages [first, last) of the process's address space. */
function residentPages(pagemapFd, first, last) {
  if (last <= first) return 0;
  const buf = Buffer.alloc((last - first) * 8);
  fs.readSync(pagemapFd, buf, 0, buf.length, first * 8);
  let n = 0;
  for (let i = 0; i < last - first; i++) if (buf.readBigUInt64LE(i * 8) & PRESENT) n++;
  return n;
}

const kib = (pages) => `${((pages * PAGE_SIZE) / 1024).toLocaleString('en-US')} KiB`.padStart(11);
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function report(pid) {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  const kinds = memoryKinds(pid);
  if (!kinds) throw new Error(`process ${pid}: no /proc/${pid}/smaps_rollup`);
  const layout = elfLayout(exe);
  const mapping = fs
    .readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/))
    .find((f) => f[5] === exe && parseInt(f[2], 16) === layout.firstLoad.offset);
  if (!mapping) throw new Error(`process ${pid}: no mapping of ${exe} found`);
  const bias = parseInt(mapping[0].split('-')[0], 16) - (layout.firstLoad.vaddr - (layout.firstLoad.vaddr % PAGE_SIZE));
  const out = [`pid ${pid} (${exe}): RSS ${mib(kinds.anonymous + kinds.file)} = anonymous ${mib(kinds.anonymous)} + file-backed ${mib(kinds.file)}`];
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    let total = 0;
    // A page two sections share is counted with the first.
    let nextPage = 0;
    for (const s of [...layout.sections].sort((a, b) => a.addr - b.addr)) {
      const pieces = [[s.name, s.addr, s.addr + s.size]];
      const icu = layout.icu;
      if (icu && icu.addr >= s.addr && icu.addr + icu.size <= s.addr + s.size) {
        pieces.splice(0, 1, [s.name, s.addr, icu.addr], [`${s.name} (${icu.name}, ICU's data)`, icu.addr, icu.addr + icu.size], [s.name, icu.addr + icu.size, s.addr + s.size]);
      }
      for (const [name, start, end] of pieces) {
        const first = Math.max(nextPage, Math.floor((start + bias) / PAGE_SIZE));
        const last = Math.ceil((end + bias) / PAGE_SIZE);
        const pages = residentPages(fd, first, last);
        nextPage = Math.max(nextPage, last);
        total += pages;
        if (pages > 0) out.push(`${kib(pages)} of ${kib(last - first)}  ${name}${s.type === SHT_NOBITS ? ' (zero-filled: anonymous)' : ''}`);
      }
    }
    out.push(`${kib(total)} of its own executable resident`);
  } finally {
    fs.closeSync(fd);
  }
  return out.join('\n');
}

const pids = process.argv.slice(2);
if (pids.length === 0 || pids.some((p) => !/^\d+$/.test(p))) {
  process.stderr.write('usage: node bench/resident-pages.js PID [PID...]\n');
  process.exit(2);
}
for (const pid of pids) process.stdout.write(`${report(pid)}\n\n`);
