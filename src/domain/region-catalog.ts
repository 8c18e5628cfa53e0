// The edge nodes this deployment serves, as configured.
import { ApiError } from '../errors/catalog.js';
import { resolveRegions, type EnsRegion } from './regions.js';

export class RegionCatalog {
  private readonly byId: Map<string, EnsRegion>;

  constructor(ids: readonly string[]) {
    this.byId = new Map(resolveRegions(ids).map((r) => [r.EnsRegionId, r]));
  }

  list(): EnsRegion[] {
    return [...this.byId.values()];
  }

  get(id: string): EnsRegion | undefined {
    return this.byId.get(id);
  }

  /** An EnsRegionId this deployment does not serve is the caller's mistake. */
  require(id: string): EnsRegion {
    const region = this.byId.get(id);
    if (!region) throw new ApiError('InvalidParameter.%s', 'EnsRegionId');
    return region;
  }
}
