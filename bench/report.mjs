// Turns one benchmark run into markdown tables and an SVG chart.

import { CORE, REAL_PROGRAMS, WORKLOADS } from './allocators.mjs';

const fmt = (v, digits = 3) => {
  if (v === undefined || Number.isNaN(v)) return 'n/a';
  if (v >= 100) return v.toFixed(0);
  return v.toPrecision(digits);
};
const pct = (v) => `${(v * 100).toFixed(0)}%`;
const name = (a) => (a.ours ? `**${a.label}**` : a.label);

export function report(result, chartPath = 'bench/results/chart.svg') {
  const { allocators, firmware } = result;
  const lines = [];
  const table = (head, rows, align) => {
    lines.push(`| ${head.join(' | ')} |`);
    lines.push(`|${head.map((_, i) => (align?.[i] === 'l' ? '---' : '---:')).join('|')}|`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  const left = (n) => ['l', ...Array(n).fill('r')];

  lines.push(
    `Measured ${result.date} on ${result.machine}; ${result.rustc}; ${result.node}; ${result.binaryen}. ` +
      `Speed: the median of ${result.rounds} rounds after ${result.warmup} warm-up rounds (the real programs: of the last ${result.realRounds ?? result.rounds}, after one), a fresh instance for every run, allocators interleaved. ` +
      'Regenerate with `bash scripts/bench.sh`.',
  );
  lines.push('');

  lines.push('**Code size on wasm32** (bytes). Allocator code: a module exporting only alloc, dealloc and realloc through the global allocator, minus an empty module (opt-level "z", LTO, one codegen unit, panic=abort, stripped). Benchmark module: the module that runs the workloads below, built the same way.');
  lines.push('');
  table(
    ['allocator', 'allocator code', 'after `wasm-opt -Oz`', 'benchmark module', 'after `wasm-opt -Oz`'],
    allocators.map((a) => [name(a), a.code.raw, a.code.oz, a.module.raw, a.module.oz]),
    left(4),
  );

  const hasRatios = allocators.some((a) => a.geomean !== undefined);
  const hasPrograms = allocators.some((a) => a.programs);
  const programCells = (a, cell) => (hasPrograms ? REAL_PROGRAMS.map((_, i) => (a.programs ? cell(i) : '—')) : []);
  lines.push('**Speed on wasm32** (median ns per operation, ± the median absolute deviation over the rounds; `vs dlmalloc`: geometric mean over the first six workloads of the time relative to dlmalloc, lower is faster; `zeroed` and `long_running` measure what the options beyond lite-alloc 0.1.0\'s four-bin design are for). The modules are built with opt-level 3 and LTO; each workload is one call from Node, timed around the call. The last columns are real programs (`bench/real`, built for `wasm32-wasip1` with opt-level 3 and LTO, run under `node:wasi`, a fresh instance each run, output checked identical across allocators), in milliseconds per run: ' + REAL_PROGRAMS.map((p) => `\`${p.name}\`: ${p.what}`).join('; ') + '; — where the allocator is not run on them (it never frees, or lol_alloc\'s free list, which is walked on every request, takes minutes).');
  lines.push('');
  table(
    [
      'allocator',
      ...WORKLOADS.map((w) => `\`${w}\``),
      ...(hasRatios ? ['vs dlmalloc'] : []),
      ...(hasPrograms ? REAL_PROGRAMS.map((p) => `\`${p.name}\` (ms)`) : []),
    ],
    allocators.map((a) => [
      name(a) + (a.leaks ? ' (never frees)' : ''),
      ...a.speed.map((s) => `${fmt(s.median)} ±${pct(s.spread)}`),
      ...(hasRatios ? [a.geomean === undefined ? 'n/a' : fmt(a.geomean, 2)] : []),
      ...programCells(a, (i) => `${fmt(a.programs[i].ms)} ±${pct(a.programs[i].spread)}`),
    ]),
    left(WORKLOADS.length + (hasRatios ? 1 : 0) + (hasPrograms ? REAL_PROGRAMS.length : 0)),
  );

  lines.push('**Peak memory on wasm32** (64 KiB wasm pages after each workload in a fresh instance, the module\'s own 17 pages of stack and data included; for the real programs, the pages the WASI module ended with).');
  lines.push('');
  table(
    ['allocator', ...WORKLOADS.map((w) => `\`${w}\``), ...(hasPrograms ? REAL_PROGRAMS.map((p) => `\`${p.name}\``) : [])],
    allocators.map((a) => [name(a), ...a.pages.map(String), ...programCells(a, (i) => String(a.programPages[i]))]),
    left(WORKLOADS.length + (hasPrograms ? REAL_PROGRAMS.length : 0)),
  );

  if (firmware.length) {
    lines.push('**Code size on firmware** (`thumbv7em-none-eabihf`, bytes: a program calling alloc, realloc and dealloc through the global allocator, heap set-up included, minus the same program without them; opt-level "z", LTO). Ours use a static arena; the peers are handed a static array at start-up.');
    lines.push('');
    table(['allocator', '`.text`', '`.rodata`'], firmware.map((a) => [name(a), a.text, a.rodata]), left(2));
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

  const targets = checkTargets(result);
  if (targets.length) {
    lines.push('**Targets**, checked against the numbers above:');
    lines.push('');
    table(['target', 'measured', 'met'], targets.map((t) => [t.what, t.measured, t.met ? 'yes' : '**no**']), ['l', 'l', 'l']);
  }

  lines.push(`![Code size against speed, per allocator](${chartPath})`);
  return { markdown: lines.join('\n'), svg: chart(result), targets };
}

/// The README's compact summary: code, speed and memory of our main lines
/// and the main peers, and the chart; the full report is bench/README.md.
export function summary(result, chartPath, fullPath) {
  const byId = new Map(result.allocators.map((a) => [a.id, a]));
  const rows = ['lite-default', 'lite-general', 'lite-coalesce', 'lite-reuse-realloc', 'dlmalloc', 'talc', 'rlsf-small', 'wee-alloc', 'lol-free-list']
    .map((id) => byId.get(id))
    .filter(Boolean);
  const range = (values) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return lo.toFixed(2) === hi.toFixed(2) ? `${lo.toFixed(2)}x` : `${lo.toFixed(2)}x to ${hi.toFixed(2)}x`;
  };
  const lines = [];
  lines.push(`Measured ${result.date} on wasm32 in ${result.node.replace(/ \(.*/, '')} (${result.rounds} rounds, medians); relative to dlmalloc, lower is better. Regenerate with \`bash scripts/bench.sh\`.`);
  lines.push('');
  lines.push('| allocator | code after `wasm-opt -Oz` | time, six micro-benchmarks | time, four real programs | memory, four real programs |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const a of rows) {
    const real = a.programRatios && a.id !== 'dlmalloc';
    lines.push(`| ${name(a)} | ${a.code.oz} B | ${a.geomean === undefined ? 'n/a' : `${fmt(a.geomean, 2)}x`} | ${real ? range(a.programRatios) : a.id === 'dlmalloc' ? '1x' : '—'} | ${real ? range(a.programPageRatios) : a.id === 'dlmalloc' ? '1x' : '—'} |`);
  }
  lines.push('');
  lines.push(`Micro-benchmarks: geometric mean of the time ratios. Real programs (a serde_json round trip, regexes, syn, a key-value cache, on \`wasm32-wasip1\`): the range of the four ratios (—: not run on them, see the full report). Every row, workload and target: [${fullPath}](${fullPath}).`);
  lines.push('');
  lines.push(`![Code size against speed, per allocator](${chartPath})`);
  return lines.join('\n');
}

function checkTargets(result) {
  const byId = new Map(result.allocators.map((a) => [a.id, a]));
  const t = result.targets;
  const out = [];
  const def = byId.get('lite-default');
  const defRealloc = byId.get('lite-default-realloc');
  const published = byId.get(t.defaultSizeAtMost);
  if (def && published) {
    out.push({
      what: `\`Default\` code (-Oz) no bigger than ${published.label}'s`,
      measured: `${def.code.oz} B vs ${published.code.oz} B`,
      met: def.code.oz <= published.code.oz,
    });
  }
  const lol = byId.get(t.reallocSizeBelow);
  if (defRealloc && lol) {
    out.push({
      what: `\`Default\` with in-place realloc (-Oz) smaller than ${lol.label}'s`,
      measured: `${defRealloc.code.oz} B vs ${lol.code.oz} B`,
      met: defRealloc.code.oz < lol.code.oz,
    });
  }
  const ours = result.allocators.filter((a) => a.ours && a.geomean !== undefined);
  if (ours.length) {
    const best = ours.reduce((x, y) => (y.geomean < x.geomean ? y : x));
    // `Default` on its own (the documented design, whose never-reused large
    // blocks and moving realloc two of the workloads measure), then every
    // configuration, met when the best one meets it.
    if (def?.geomean !== undefined) {
      out.push({
        what: `${def.label}: geometric mean at most ${t.geomeanAtMost} of dlmalloc's`,
        measured: fmt(def.geomean, 2),
        met: def.geomean <= t.geomeanAtMost,
      });
    }
    out.push({
      what: `geometric mean at most ${t.geomeanAtMost} of dlmalloc's, for the best of our configurations`,
      measured: ours.map((a) => `${a.label} ${fmt(a.geomean, 2)}`).join('; '),
      met: best.geomean <= t.geomeanAtMost,
    });
  }
  const peers = result.allocators.filter((a) => !a.leaks && !a.ours && !a.ancestor);
  for (const w of t.fastestOn) {
    const i = WORKLOADS.indexOf(w);
    if (!ours.length || !peers.length || i < 0) continue;
    const fastest = (list) => list.reduce((x, y) => (y.speed[i].median < x.speed[i].median ? y : x));
    const us = fastest(result.allocators.filter((a) => a.ours));
    const them = fastest(peers);
    out.push({
      what: `fastest of all peers on \`${w}\``,
      measured: `${us.label} ${fmt(us.speed[i].median)} ns; fastest peer ${them.label} ${fmt(them.speed[i].median)} ns`,
      met: us.speed[i].median < them.speed[i].median,
    });
  }
  const talc = byId.get(t.vecPushAtLeastAsFastAs);
  const v = WORKLOADS.indexOf('vec_push');
  const inPlace = result.allocators.filter((a) => a.inPlace);
  if (inPlace.length && talc) {
    const best = inPlace.reduce((x, y) => (y.speed[v].median < x.speed[v].median ? y : x));
    out.push({
      what: `in-place realloc at least as fast as ${talc.label} on \`vec_push\``,
      measured: `${inPlace.map((a) => `${a.label} ${fmt(a.speed[v].median)} ns`).join('; ')}; ${talc.label} ${fmt(talc.speed[v].median)} ns`,
      met: best.speed[v].median <= talc.speed[v].median,
    });
  }
  const reuse = result.allocators.filter((a) => a.largeReuse);
  const dl = byId.get('dlmalloc');
  if (dl) {
    for (const a of reuse) {
      const core = a.pageRatios.slice(0, CORE);
      const worst = Math.max(...core);
      out.push({
        what: `${a.label}: peak pages within ${t.pagesWithin}x of dlmalloc on each of the six workloads`,
        measured: `worst ${worst.toFixed(2)}x (${WORKLOADS[core.indexOf(worst)]})`,
        met: worst <= t.pagesWithin,
      });
    }
  }
  const general = result.allocators.find((a) => a.general);
  if (general) {
    out.push({
      what: `${general.label}: allocator code (-Oz) under ${t.generalCodeBelow} B`,
      measured: `${general.code.oz} B`,
      met: general.code.oz < t.generalCodeBelow,
    });
  }
  // The real-program targets, for General.
  for (const a of result.allocators.filter((a) => a.general && a.programRatios)) {
    REAL_PROGRAMS.forEach((p, i) => {
      const time = a.programRatios[i];
      const pages = a.programPageRatios[i];
      out.push({
        what: `${a.label} on \`${p.name}\`: time at most ${t.generalTimeAtMost}x and peak pages at most ${t.generalPagesAtMost}x dlmalloc's`,
        measured: `time ${time.toFixed(2)}x, pages ${pages.toFixed(2)}x (${a.programPages[i]} vs ${dl ? dl.programPages[i] : '?'})`,
        met: time <= t.generalTimeAtMost && pages <= t.generalPagesAtMost,
      });
    });
  }
  return out;
}

/// Code size (x, log scale) against the geometric mean of time ratios (y).
function chart(result) {
  const points = result.allocators.filter((a) => a.geomean !== undefined);
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
