/** Turns a recommend call's options (ids, filters, unknown-id policy) into the addon's arguments. */
import { InputError } from '../errors';
import { ExternalId, IdMap } from '../data/idmap';
import { CsrArrays, NativeFilterOptions } from '../native';
import { ItemFilter, unknownPolicy } from './item-filter';

/** Item ids: one list for every row, one list per row, or a prebuilt ItemFilter. */
export type ItemSelection = readonly ExternalId[] | readonly (readonly ExternalId[])[] | ItemFilter;

/** Counts the ids an 'ignore' policy dropped. */
export interface UnknownTally {
  ignore: boolean;
  ids: number;
}

/**
 * CSR rows of item indices from lists of external ids. An unknown id is E_INPUT naming it and its
 * position (`what[row][pos]`), or is dropped and counted when the tally ignores them.
 */
export function rowsFromIds(lists: readonly (readonly ExternalId[])[], itemIds: IdMap, what: string, tally?: UnknownTally): CsrArrays {
  const indptr = new Int32Array(lists.length + 1);
  const idx: number[] = [];
  lists.forEach((list, r) => {
    if (!Array.isArray(list)) throw new InputError(`${what}[${r}] must be an array of item ids`);
    const found = itemIds.indicesOf(list, 'item', `${what}[${r}]`, tally?.ignore);
    const set = new Set<number>();
    for (const i of found) if (i >= 0) set.add(i);
    if (tally) tally.ids += found.length - found.filter((i) => i >= 0).length;
    idx.push(...Array.from(set).sort((a, b) => a - b));
    indptr[r + 1] = idx.length;
  });
  return { rows: lists.length, cols: itemIds.size, indptr, indices: Int32Array.from(idx) };
}

// Item spaces already compared id by id, so a filter built for an equal copy of a model's ids
// (another load of the same file) costs one lookup per call.
const sameSpaces = new WeakMap<IdMap, WeakSet<IdMap>>();
function sameItemSpace(a: IdMap, b: IdMap): boolean {
  if (a === b || sameSpaces.get(a)?.has(b)) return true;
  if (a.size !== b.size) return false;
  for (let i = 0; i < a.size; i++) if (String(a.id(i)) !== String(b.id(i))) return false;
  if (!sameSpaces.has(a)) sameSpaces.set(a, new WeakSet());
  sameSpaces.get(a)!.add(b);
  return true;
}

/** One filter option resolved: per-row CSR rows, or a shared set (an ItemFilter). */
interface Selection {
  rows?: CsrArrays;
  shared?: ItemFilter;
}

function selection(value: ItemSelection | undefined, rows: number, itemIds: IdMap, what: string, tally: UnknownTally): Selection {
  if (value === undefined) return {};
  if (value instanceof ItemFilter) {
    if (!sameItemSpace(value.itemIds, itemIds)) throw new InputError(`the ${what} ItemFilter was built for another item space`);
    return { shared: value };
  }
  if (!Array.isArray(value)) throw new InputError(`${what} must be an array of item ids, an array of such arrays, or an ItemFilter`);
  const perRow = value.length > 0 && Array.isArray(value[0]);
  if (!perRow) {
    const filter = ItemFilter.fromIds(itemIds, value as readonly ExternalId[], { unknown: tally.ignore ? 'ignore' : 'error' }, what);
    tally.ids += filter.unknownIds;
    return { shared: filter };
  }
  if (value.length !== rows) throw new InputError(`${what} has ${value.length} rows but there are ${rows} rows to recommend for`);
  return { rows: rowsFromIds(value as readonly (readonly ExternalId[])[], itemIds, what, tally) };
}

/** The filters of one call as the addon takes them. */
export function resolveFilters(
  opts: { include?: ItemSelection; exclude?: ItemSelection; minScore?: number } | undefined,
  rows: number,
  itemIds: IdMap,
  tally: UnknownTally,
  k: number,
): NativeFilterOptions {
  const include = selection(opts?.include, rows, itemIds, 'include', tally);
  const exclude = selection(opts?.exclude, rows, itemIds, 'exclude', tally);
  const minScore = opts?.minScore;
  if (minScore !== undefined && (typeof minScore !== 'number' || Number.isNaN(minScore)))
    throw new InputError(`minScore must be a number, got ${String(minScore)}`);
  return { k, include: include.rows, exclude: exclude.rows, includeFilter: include.shared?.handle, excludeFilter: exclude.shared?.handle, minScore };
}
