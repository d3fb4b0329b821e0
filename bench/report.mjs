// Turns one benchmark run into markdown tables and an SVG chart.

import { CORE, RATCHET, REAL_PROGRAMS, WORKLOADS } from './allocators.mjs';

const fmt = (v, digits = 3) => {
  if (v === undefined || Number.isNaN(v)) return 'n/a';
  if (v >= 100) return v.toFixed(0);
  return v.toPrecision(digits);
};
const pct = (v) => `${(v * 100).toFixed(0)}%`;
const name = (a) => (a.ours ? `**${a.label}**` : a.label);

export function report(result, chartPath = 'bench/results/chart.svg', baseline = null) {
  const { allocators, firmware } = result;
  const lines = [];
  const table = (head, rows, align) => lines.push(...markdownTable(head, rows, align), '');
  const left = (n) => ['l', ...Array(n).fill('r')];

  lines.push(
    `Measured ${result.date}${result.commit ? ` at ${result.commit}` : ''} on ${result.machine}; ${result.rustc}; ${result.node}; ${result.binaryen}. ` +
      `Speed: the median of ${result.rounds} rounds after ${result.warmup} warm-up rounds (the real programs: of the last ${result.realRounds ?? result.rounds}, after one), a fresh instance for every run, after a garbage collection outside its time, allocators interleaved. ` +
      'Regenerate with `bash scripts/bench.sh`.',
  );
  lines.push('');

  lines.push('**Code size on wasm32** (bytes). Allocator code: a module exporting only alloc, dealloc and realloc through the global allocator, minus an empty module (opt-level "z", LTO, one codegen unit, panic=abort, stripped). dlmalloc\'s keeps its runtime assertions, and with them core\'s panic path and their messages (about 0.6 KB of its code); no other allocator here panics. Benchmark module: the module that runs the workloads below, built the same way.');
  lines.push('');
  table(
    ['allocator', 'allocator code', 'after `wasm-opt -Oz`', 'benchmark module', 'after `wasm-opt -Oz`'],
    allocators.map((a) => [name(a), a.code.raw, a.code.oz, a.module.raw, a.module.oz]),
    left(4),
  );

  const hasRatios = allocators.some((a) => a.geomean !== undefined);
  const hasPrograms = allocators.some((a) => a.programs);
  const ratchet = RATCHET.map((w) => WORKLOADS.indexOf(w)).filter((i) => i >= 0);
  lines.push(
    '**Speed on wasm32** (median ns per operation, ± the median absolute deviation over the rounds; `vs dlmalloc`: geometric mean over the first six workloads of the time relative to dlmalloc, lower is faster; `zeroed` and `long_running` measure what the options beyond lite-alloc 0.1.0\'s four-bin design are for; ' +
      `${RATCHET.map((w) => `\`${w}\``).join(' and ')} are patterns that users of other allocators reported needing many times the memory for, their time relative to dlmalloc's in the last column, beside the mean). The modules are built with opt-level 3 and LTO; each workload is one call from Node, timed around the call.`,
  );
  lines.push('');
  table(
    ['allocator', ...WORKLOADS.map((w) => `\`${w}\``), ...(hasRatios ? ['vs dlmalloc', `${RATCHET.map((w) => `\`${w}\``).join(', ')} vs dlmalloc`] : [])],
    allocators.map((a) => [
      name(a) + (a.leaks ? ' (never frees)' : ''),
      ...a.speed.map((s) => `${fmt(s.median)} ±${pct(s.spread)}`),
      ...(hasRatios ? [a.geomean === undefined ? 'n/a' : fmt(a.geomean, 2), a.ratios ? ratchet.map((i) => fmt(a.ratios[i], 2)).join(', ') : 'n/a'] : []),
    ]),
    left(WORKLOADS.length + (hasRatios ? 2 : 0)),
  );

  lines.push("**Peak memory on wasm32** (64 KiB wasm pages after each workload in a fresh instance, the module's own 17 pages of stack and data included).");
  lines.push('');
  table(
    ['allocator', ...WORKLOADS.map((w) => `\`${w}\``)],
    allocators.map((a) => [name(a), ...a.pages.map(String)]),
    left(WORKLOADS.length),
  );

  if (hasPrograms) {
    lines.push(
      '**Real programs** (`bench/real`, built for `wasm32-wasip1` with opt-level 3 and LTO, run under `node:wasi`, a fresh instance each run, output checked identical across allocators): ' +
        REAL_PROGRAMS.map((p) => `\`${p.name}\`: ${p.what}`).join('; ') +
        ". For each, the milliseconds per run (± the median absolute deviation), the pages of memory the module ended with (it never gives any back, so its peak), and the `memory.grow` instructions it executed: each module is rewritten by binaryen's `instrument-memory` pass, limited to `memory.grow`, so that every one calls Node before and after it, and Node counts them (each costs V8 a garbage collection once memory is large). Not run: the allocators that never free, lol_alloc's free list (walked on every request, it takes minutes), and the rows whose design another row already shows here (in-place realloc, `stats`, `heap_base`, large blocks reused without `realloc`); — where a run left an allocator's programs out (`--real-only`).",
    );
    lines.push('');
    table(
      ['allocator', ...REAL_PROGRAMS.flatMap((p) => [`\`${p.name}\` ms`, 'pages', 'grows'])],
      allocators
        .filter((a) => a.real !== false)
        .map((a) => [
          name(a),
          ...REAL_PROGRAMS.flatMap((_, i) =>
            a.programs ? [`${fmt(a.programs[i].ms)} ±${pct(a.programs[i].spread)}`, String(a.programPages[i]), a.programGrows ? String(a.programGrows[i]) : 'n/a'] : ['—', '—', '—'],
          ),
        ]),
      left(REAL_PROGRAMS.length * 3),
    );
  }

  if (firmware.length) {
    lines.push('**Code size on firmware** (`thumbv7em-none-eabihf`, bytes: a program calling alloc, realloc and dealloc through the global allocator, heap set-up included, minus the same program without them; opt-level "z", LTO). Ours use a static arena; the peers are handed a static array at start-up. `own code`: `.text` less the functions of compiler_builtins\' mem module (memcpy and its ARM entry points, which a moving realloc pulls in and any program that copies memory already has).');
    lines.push('');
    table(['allocator', '`.text`', 'own code', '`.rodata`'], firmware.map((a) => [name(a), a.text, a.own ?? 'n/a', a.rodata]), left(3));
  }

  // The case studies of lite-alloc-tune: each tuned configuration on its own
  // program, against dlmalloc, Default and General.
  const cases = allocators.filter((a) => a.tunedFor && a.programs).map((a) => [a.tunedFor, a.id]);
  const byId = new Map(allocators.map((a) => [a.id, a]));
  if (cases.length && byId.get('dlmalloc')?.programs) {
    lines.push('**Case studies of `lite-alloc-tune`** (`bash scripts/tune.sh` recorded each program and chose its configuration; measured here, ms per run and peak pages):');
    lines.push('');
    const rows = [];
    for (const [program, tunedId] of cases) {
      const i = REAL_PROGRAMS.findIndex((p) => p.name === program);
      for (const id of new Set(['dlmalloc', 'lite-default', tunedId, 'lite-general'])) {
        const a = byId.get(id);
        if (!a?.programs) continue;
        rows.push([`\`${program}\``, name(a), fmt(a.programs[i].ms), String(a.programPages[i])]);
      }
    }
    table(['program', 'allocator', 'ms', 'pages'], rows, ['l', 'l', 'r', 'r']);
  }

  const frontierRows = frontier(result);
  if (frontierRows.length) {
    lines.push(...frontierRows, '');
  }

  const targets = checkTargets(result, baseline);
  if (targets.length) {
    lines.push('**Targets**, checked against the numbers above:');
    lines.push('');
    table(['target', 'measured', 'met'], targets.map((t) => [t.what, t.measured, t.met ? 'yes' : '**no**']), ['l', 'l', 'l']);
  }

  lines.push(`![Code size against speed, per allocator](${chartPath})`);
  return { markdown: lines.join('\n'), svg: chart(result), targets };
}

/// `1.00x` for one value, `0.87x to 1.06x` for several.
const range = (values) => {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo.toFixed(2) === hi.toFixed(2) ? `${lo.toFixed(2)}x` : `${lo.toFixed(2)}x to ${hi.toFixed(2)}x`;
};

/// Ratios of an allocator's numbers on the `RATCHET` workloads to dlmalloc's.
const ratchetPageRatios = (a) => RATCHET.map((w) => WORKLOADS.indexOf(w)).filter((i) => i >= 0 && a.pageRatios).map((i) => a.pageRatios[i]);

/// The frontier of the general-purpose line: code, speed and memory of
/// every design marked `frontier` in allocators.mjs. The full report adds
/// dlmalloc, wasmalloc and talc, the time on the real programs and the
/// `memory.grow` calls; the README's (`compact`) has our designs alone, its
/// peers being in the table above it, and points to the designs tried and
/// dropped. Markdown lines, none without such rows.
function frontier(result, { compact = false, fullPath = '' } = {}) {
  const rows = result.allocators.filter((a) => a.frontier && a.geomean !== undefined);
  if (!rows.length) return [];
  const byId = new Map(result.allocators.map((a) => [a.id, a]));
  const peers = compact ? [] : ['dlmalloc', 'wasmalloc', 'talc'].map((id) => byId.get(id)).filter(Boolean);
  const ratchetNames = RATCHET.map((w) => `\`${w}\``).join(' and ');
  const lines = [];
  if (compact) {
    lines.push(
      `**The general-purpose line's frontier**: code, speed and memory of each design it offers, relative to dlmalloc as above; memory also on ${ratchetNames}. The designs tried and dropped, with their numbers: [${fullPath}](${fullPath}#what-is-left).`,
    );
  } else {
    lines.push(
      `**The general-purpose line's frontier**: each design tried, against the peers. Code after \`wasm-opt -Oz\`; time: the geometric mean over the six micro-benchmarks, and the range over the four real programs; memory: peak pages on the real programs and on ${ratchetNames}; \`memory.grow\` calls on the real programs. All relative to dlmalloc in this run, lower is better.`,
    );
  }
  lines.push('');
  const head = compact
    ? ['design', 'code', 'time, micro', 'memory, real programs', `memory, ${ratchetNames}`]
    : ['design', 'code', 'time, micro', 'time, real programs', 'memory, real programs', `memory, ${ratchetNames}`, '`memory.grow` calls'];
  const body = [...rows, ...peers].map((a) => {
    const isDl = a.id === 'dlmalloc';
    const real = (values) => (isDl ? '1x' : values ? range(values) : '—');
    const ratchet = ratchetPageRatios(a);
    return [
      `${name(a)}${a.design ? `: ${a.design}` : ''}`,
      `${a.code.oz} B`,
      `${fmt(a.geomean, 2)}x`,
      ...(compact ? [] : [real(a.programRatios)]),
      real(a.programPageRatios),
      isDl ? '1x' : ratchet.length ? range(ratchet) : '—',
      ...(compact ? [] : [real(a.programGrowRatios)]),
    ];
  });
  lines.push(...markdownTable(head, body, ['l']));
  return lines;
}

/// A Markdown table's lines: `align[i]` is `'l'` for a left-aligned column,
/// any other column is right-aligned.
function markdownTable(head, rows, align) {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (align?.[i] === 'l' ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

/// The README's compact summary: code, speed and memory of our main lines
/// and the main peers, the general-purpose line's frontier, and the chart;
/// the full report is bench/README.md.
export function summary(result, chartPath, fullPath) {
  const byId = new Map(result.allocators.map((a) => [a.id, a]));
  const rows = ['lite-default', 'lite-general', 'lite-coalesce', 'lite-reuse-realloc', 'dlmalloc', 'wasmalloc', 'talc', 'rlsf-small', 'wee-alloc', 'lol-free-list']
    .map((id) => byId.get(id))
    .filter(Boolean);
  const lines = [];
  // When, where and with which toolchains: the full report's first line.
  lines.push(`On wasm32 in ${result.node.replace(/ \(.*/, '')} (${result.rounds} rounds, medians); relative to dlmalloc, lower is better. Regenerate with \`bash scripts/bench.sh\`.`);
  lines.push('');
  const head = ['allocator', 'code after `wasm-opt -Oz`', 'time, six micro-benchmarks', 'time, four real programs', 'memory, four real programs', '`memory.grow` calls, four real programs'];
  const body = rows.map((a) => {
    const isDl = a.id === 'dlmalloc';
    const real = (values) => (isDl ? '1x' : a.programRatios && values ? range(values) : '—');
    return [name(a), `${a.code.oz} B`, a.geomean === undefined ? 'n/a' : `${fmt(a.geomean, 2)}x`, real(a.programRatios), real(a.programPageRatios), real(a.programGrowRatios)];
  });
  lines.push(...markdownTable(head, body, ['l']));
  lines.push('');
  lines.push(`Micro-benchmarks: geometric mean of the time ratios. Real programs (a serde_json round trip, regexes, syn, a key-value cache, on \`wasm32-wasip1\`): the range of the four ratios (—: not run on them, see the full report); memory is the peak pages, and \`memory.grow\` calls are counted exactly (each costs V8 a garbage collection once memory is large). Every row, workload and target: [${fullPath}](${fullPath}).`);
  lines.push('');
  const designs = frontier(result, { compact: true, fullPath });
  if (designs.length) lines.push(...designs, '');
  lines.push(`![Code size against speed, per allocator](${chartPath})`);
  return lines.join('\n');
}

function checkTargets(result, baseline) {
  const byId = new Map(result.allocators.map((a) => [a.id, a]));
  const t = result.targets;
  const out = [];
  if (t.generalCodeAtMost === undefined) return out; // a run checked against targets since replaced
  const dl = byId.get('dlmalloc');
  const general = result.allocators.find((a) => a.general);
  if (general) {
    out.push({
      what: `${general.label}: allocator code (-Oz) at most ${t.generalCodeAtMost} B`,
      measured: `${general.code.oz} B`,
      met: general.code.oz <= t.generalCodeAtMost,
    });
  }
  if (general?.programRatios && dl?.programGrows) {
    REAL_PROGRAMS.forEach((p, i) => {
      const time = general.programRatios[i];
      const pages = general.programPageRatios[i];
      const grows = general.programGrows[i];
      out.push({
        what: `${general.label} on \`${p.name}\`: time at most ${t.generalRealTimeAtMost}x and peak pages at most ${t.generalRealPagesAtMost}x dlmalloc's, fewer \`memory.grow\` calls`,
        measured: `time ${time.toFixed(2)}x, pages ${pages.toFixed(2)}x (${general.programPages[i]} vs ${dl.programPages[i]}), ${grows} vs ${dl.programGrows[i]} calls`,
        met: time <= t.generalRealTimeAtMost && pages <= t.generalRealPagesAtMost && grows < dl.programGrows[i],
      });
    });
  }
  if (general?.geomean !== undefined) {
    out.push({
      what: `${general.label}: geometric mean of the six micro-benchmarks at most ${t.generalGeomeanAtMost} of dlmalloc's`,
      measured: fmt(general.geomean, 2),
      met: general.geomean <= t.generalGeomeanAtMost,
    });
    for (const w of RATCHET) {
      const i = WORKLOADS.indexOf(w);
      if (i < 0 || !dl) continue;
      out.push({
        what: `${general.label} on \`${w}\`: peak pages at most ${t.generalRatchetPagesAtMost}x dlmalloc's`,
        measured: `${general.pageRatios[i].toFixed(2)}x (${general.pages[i]} vs ${dl.pages[i]})`,
        met: general.pageRatios[i] <= t.generalRatchetPagesAtMost,
      });
    }
  }
  const firmware = new Map(result.firmware.map((a) => [a.id, a]));
  const fwGeneral = firmware.get(t.firmware.general.id);
  if (fwGeneral) {
    out.push({
      what: `firmware: ${fwGeneral.label}, \`.text\` under ${t.firmware.general.textBelow} B`,
      measured: `${fwGeneral.text} B`,
      met: fwGeneral.text < t.firmware.general.textBelow,
    });
  }
  const fwDefault = firmware.get(t.firmware.default.id);
  if (fwDefault?.own !== undefined) {
    out.push({
      what: `firmware: ${fwDefault.label} (Default's configuration), own code (memcpy excluded) under ${t.firmware.default.ownBelow} B`,
      measured: `${fwDefault.own} B (\`.text\` ${fwDefault.text} B)`,
      met: fwDefault.own < t.firmware.default.ownBelow,
    });
  }
  // Nothing else worse: our other rows against the baseline run.
  if (baseline) {
    const before = new Map(baseline.allocators.map((a) => [a.id, a]));
    const worse = [];
    let compared = 0;
    for (const a of result.allocators.filter((a) => a.ours && !a.general && before.has(a.id))) {
      const b = before.get(a.id);
      compared++;
      if (a.code.oz > b.code.oz) worse.push(`${a.label}: code ${a.code.oz} B (was ${b.code.oz} B)`);
      if (a.geomean !== undefined && b.geomean !== undefined && a.geomean > b.geomean * (1 + t.noise)) worse.push(`${a.label}: geometric mean ${fmt(a.geomean, 2)} (was ${fmt(b.geomean, 2)})`);
      for (let i = 0; i < CORE; i++) {
        if (a.pages[i] > b.pages[i]) worse.push(`${a.label}: \`${WORKLOADS[i]}\` ${a.pages[i]} pages (was ${b.pages[i]})`);
      }
      REAL_PROGRAMS.forEach((p, i) => {
        if (a.programPages && b.programPages && a.programPages[i] > b.programPages[i]) worse.push(`${a.label}: \`${p.name}\` ${a.programPages[i]} pages (was ${b.programPages[i]})`);
      });
    }
    const fwBefore = new Map((baseline.firmware ?? []).map((a) => [a.id, a]));
    for (const a of result.firmware.filter((a) => a.ours && fwBefore.has(a.id))) {
      compared++;
      if (a.text > fwBefore.get(a.id).text) worse.push(`firmware ${a.label}: \`.text\` ${a.text} B (was ${fwBefore.get(a.id).text} B)`);
    }
    out.push({
      what: `nothing else worse: our other rows against the run of ${baseline.date}${baseline.commit ? ` at ${baseline.commit}` : ''} (\`results/${t.baseline}\`): code no larger, geometric mean within ${Math.round(t.noise * 100)}%, peak pages on the six micro-benchmarks and the real programs no more`,
      measured: worse.length ? worse.join('; ') : `${compared} rows compared, none worse`,
      met: worse.length === 0,
    });
  }
  return out;
}

/// Code size (x, log scale) against the geometric mean of time ratios (y).
function chart(result) {
  // Not the checked mode, a debugging aid several times slower.
  const points = result.allocators.filter((a) => a.geomean !== undefined && !a.checked);
  const W = 760;
  const H = 470;
  const m = { left: 70, right: 30, top: 40, bottom: 60 };
  const xs = points.map((a) => Math.max(a.code.oz, 1));
  const xMin = 2 ** Math.floor(Math.log2(Math.min(...xs, 128)));
  const xMax = 2 ** Math.ceil(Math.log2(Math.max(...xs, 1024)));
  const yMax = Math.ceil(Math.max(...points.map((a) => a.geomean), 1) * 4) / 4;
  const x = (v) => m.left + ((Math.log2(v) - Math.log2(xMin)) / (Math.log2(xMax) - Math.log2(xMin))) * (W - m.left - m.right);
  const y = (v) => H - m.bottom - (v / yMax) * (H - m.top - m.bottom);
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/`/g, '');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Allocator code size against speed on wasm32 (lower left is better)</text>`);
  for (let v = xMin; v <= xMax; v *= 2) {
    parts.push(`<line x1="${x(v)}" y1="${m.top}" x2="${x(v)}" y2="${H - m.bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(v)}" y="${H - m.bottom + 16}" text-anchor="middle">${v >= 1024 ? `${v / 1024} KiB` : `${v} B`}</text>`);
  }
  for (let v = 0; v <= yMax + 1e-9; v += 0.25) {
    parts.push(`<line x1="${m.left}" y1="${y(v)}" x2="${W - m.right}" y2="${y(v)}" stroke="${v === 1 ? '#999' : '#ddd'}"/>`);
    parts.push(`<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 18}" text-anchor="middle">allocator code after wasm-opt -Oz (bytes, log scale)</text>`);
  parts.push(`<text transform="translate(18 ${H / 2}) rotate(-90)" text-anchor="middle">time relative to dlmalloc (geometric mean of 6 workloads)</text>`);
  // Labels: beside their point (right, left, above, below), else further
  // away with a leader line; never over another label or point, never off
  // the chart.
  const boxes = points.map((a) => {
    const px = x(Math.max(a.code.oz, 1));
    const py = y(a.geomean);
    return { x: px - 6, y: py - 6, w: 12, h: 12 };
  });
  const overlaps = (b) => boxes.some((o) => b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h);
  const inside = (b) => b.x >= m.left && b.x + b.w <= W - m.right && b.y >= m.top && b.y + b.h <= H - m.bottom;
  for (const a of [...points].sort((p, q) => p.code.oz - q.code.oz)) {
    const px = x(Math.max(a.code.oz, 1));
    const py = y(a.geomean);
    const label = esc(a.label);
    const w = label.length * 6.3;
    const h = 13;
    const candidates = [];
    for (const d of [0, 14, 28, 42, 56, 70]) {
      for (const dy of d === 0 ? [0] : [-d, d]) {
        candidates.push({ x: px + 9, y: py - h / 2 + dy });
        candidates.push({ x: px - 9 - w, y: py - h / 2 + dy });
      }
      if (d === 0) {
        candidates.push({ x: px - w / 2, y: py - 9 - h });
        candidates.push({ x: px - w / 2, y: py + 9 });
      }
    }
    const spot = candidates.map((c) => ({ ...c, w, h })).find((b) => inside(b) && !overlaps(b)) ?? { x: px + 9, y: py - h / 2, w, h };
    boxes.push(spot);
    const colour = a.ours ? '#c0392b' : a.leaks ? '#999' : '#2c6fbb';
    const cy = spot.y + h / 2;
    if (Math.abs(cy - py) > h) {
      const lx = spot.x > px ? spot.x - 2 : spot.x + w + 2;
      parts.push(`<line x1="${px}" y1="${py}" x2="${lx}" y2="${cy}" stroke="${colour}" stroke-width="0.7" opacity="0.6"/>`);
    }
    parts.push(`<circle cx="${px}" cy="${py}" r="5" fill="${a.leaks ? 'white' : colour}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${spot.x}" y="${spot.y + h - 3}" fill="${colour}">${label}</text>`);
  }
  parts.push(`<text x="${W - m.right}" y="${H - 4}" text-anchor="end" fill="#666" font-size="10">${esc(result.date)}, ${esc(result.node)}, ${esc(result.rustc)}; red: lite-alloc; hollow: never frees</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
