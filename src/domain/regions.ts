// ENS edge nodes (EnsRegionId). The default set is a realistic spread of edge nodes; the operator
// chooses the list with ENSNAP_REGIONS (ids from this table get its names, other ids their own id).

export interface EnsRegion {
  EnsRegionId: string;
  Name: string;
  EnName: string;
  Area: string;
  Province: string;
}

const KNOWN: readonly EnsRegion[] = [
  {
    EnsRegionId: 'cn-beijing-15',
    Name: '北京15',
    EnName: 'Beijing-15',
    Area: 'NorthChina',
    Province: '北京市',
  },
  {
    EnsRegionId: 'cn-dalian-unicom',
    Name: '大连联通',
    EnName: 'Dalian-Unicom',
    Area: 'NorthEastChina',
    Province: '辽宁省',
  },
  {
    EnsRegionId: 'cn-hangzhou-27',
    Name: '杭州27',
    EnName: 'Hangzhou-27',
    Area: 'EastChina',
    Province: '浙江省',
  },
  {
    EnsRegionId: 'cn-shenzhen-3',
    Name: '深圳3',
    EnName: 'Shenzhen-3',
    Area: 'SouthChina',
    Province: '广东省',
  },
  {
    EnsRegionId: 'cn-chengdu-telecom',
    Name: '成都电信',
    EnName: 'Chengdu-Telecom',
    Area: 'SouthWestChina',
    Province: '四川省',
  },
  {
    EnsRegionId: 'cn-wuhan-telecom',
    Name: '武汉电信',
    EnName: 'Wuhan-Telecom',
    Area: 'CentralChina',
    Province: '湖北省',
  },
  {
    EnsRegionId: 'cn-xian-unicom',
    Name: '西安联通',
    EnName: 'Xian-Unicom',
    Area: 'NorthWestChina',
    Province: '陕西省',
  },
  {
    EnsRegionId: 'cn-suzhou-telecom',
    Name: '苏州电信',
    EnName: 'Suzhou-Telecom',
    Area: 'EastChina',
    Province: '江苏省',
  },
  { EnsRegionId: 'ch-zurich-1', Name: '苏黎世1', EnName: 'Zurich-1', Area: 'Europe', Province: 'Zurich' },
  {
    EnsRegionId: 'id-jakarta-1',
    Name: '雅加达1',
    EnName: 'Jakarta-1',
    Area: 'SouthEastAsia',
    Province: 'Jakarta',
  },
];

export const DEFAULT_REGION_IDS: readonly string[] = KNOWN.map((r) => r.EnsRegionId);

export function resolveRegions(ids: readonly string[]): EnsRegion[] {
  return ids.map(
    (id) =>
      KNOWN.find((r) => r.EnsRegionId === id) ?? {
        EnsRegionId: id,
        Name: id,
        EnName: id,
        Area: '',
        Province: '',
      },
  );
}
