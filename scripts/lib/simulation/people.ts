import type { Random } from './random.ts';

/**
 * The patients who come, and what staff write about them: plausible Korean names (the common
 * family names, weighted roughly as they are common), birth dates of an outpatient clinic's ages,
 * symptoms, opinions and results. Nothing here is a real person's.
 */

export type Sex = 'female' | 'male';
export type NewPatient = { name: string; birthDate: string; sex: Sex };

/** Family names, each as often as it is common (김, 이 and 박 are nearly half of Korea). */
const FAMILY_NAMES = '김김김김김이이이이박박박최최정정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민진나엄원천방공현함변염여추도석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감호'.split('');
const GIVEN_FIRST = { female: '서지민수하예은채유소다윤혜나연미현주', male: '민준서도예시주하지현우건승태성재동진' };
const GIVEN_SECOND = { female: '연윤아은민희진영원빈서린경정', male: '준우호민현진혁수원훈영성빈재' };

export function newPatient(random: Random): NewPatient {
  const sex: Sex = random.chance(0.52) ? 'female' : 'male';
  const name = `${random.pick(FAMILY_NAMES)}${random.pick([...GIVEN_FIRST[sex]])}${random.pick([...GIVEN_SECOND[sex]])}`;
  return { name, birthDate: birthDate(random), sex };
}

/** Ages as an outpatient clinic sees them: every age, more of the middle-aged and the old. */
function birthDate(random: Random): string {
  const age = random.chance(0.15) ? random.integer(1, 19) : random.chance(0.6) ? random.integer(40, 85) : random.integer(20, 39);
  const year = new Date().getFullYear() - age;
  const month = random.integer(1, 12);
  const day = random.integer(1, 28);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

const SYMPTOMS: Record<string, readonly string[]> = {
  'internal-medicine': ['기침과 발열', '소화불량', '두통이 사흘째', '어지러움', '복통과 설사', '피로감', '혈압 재검', '당뇨 추적 관찰'],
  surgery: ['우하복부 통증', '손등 열상', '서혜부 종괴', '피지낭종', '수술 후 경과 관찰', '유방 멍울'],
};
const ANY_SYMPTOMS = ['통증', '재진', '검사 결과 상담', '발열', '기침'];

export function symptomFor(department: string, random: Random): string {
  return random.pick(SYMPTOMS[department] ?? ANY_SYMPTOMS);
}

export const OPINIONS = ['급성 상기도 감염: 대증 치료', '기능성 소화불량: 식이 조절', '긴장성 두통: 경과 관찰', '특이 소견 없음', '만성 질환 안정적: 약 유지', '단순 열상: 봉합 후 드레싱'];
export const REJECT_REASONS = ['타 병원 전원', '응급실 진료 필요', '진료과 변경 필요'];
export const RESULTS = ['정상 범위', '특이 소견 없음', '경도 이상: 추적 관찰', 'no abnormality'];
/** The reason of a diagnosis rejected because the patient never came when called. */
export const ABSENT_REASON = '두 번 호출에도 오지 않음 (no-show)';
export const CANCEL_REASON = '대기 중 귀가';
export const EXAMINATION_CANCEL_REASON = '환자 상태로 검사 불가';
