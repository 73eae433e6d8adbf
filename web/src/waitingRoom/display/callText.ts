import type { TFunction } from 'i18next';
import { isNumberedRoom } from '../api.ts';

/**
 * The sentence that calls a patient in, as the screen announces and the speech says it: "12번
 * 환자분, 3번 진료실로 들어오세요." A bare number is a consultation room's; any other room is
 * said as it is written ("CT-1로", "검사실 3으로"), with the particle its last sound takes.
 */
export function callSentence(t: TFunction, queueNumber: number, room: string | undefined): string {
  if (room === undefined) return t('display.call.noRoom', { number: queueNumber });
  if (isNumberedRoom(room)) return t('display.call.toNumberedRoom', { number: queueNumber, room: room.trim() });
  return t('display.call.toRoom', { number: queueNumber, room, particle: directionalParticle(room) });
}

const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;
/** The final consonant ㄹ, after which 로 is said too (서울로, 일로). */
const FINAL_RIEUL = 8;
/** Digits read in Korean end in a consonant other than ㄹ: 영, 삼, 육. */
const DIGITS_WITH_FINAL = '036';
/** Latin letters read in Korean end in one: 엠, 엔. */
const LETTERS_WITH_FINAL = 'MN';

/** 로 after a vowel or ㄹ, 으로 after any other final consonant, by the last letter said. */
export function directionalParticle(word: string): '로' | '으로' {
  const last = Array.from(word.trim())
    .reverse()
    .find((char) => /[\p{L}\p{N}]/u.test(char));
  if (last === undefined) return '로';
  const code = last.codePointAt(0)!;
  if (code >= HANGUL_FIRST && code <= HANGUL_LAST) {
    const final = (code - HANGUL_FIRST) % 28;
    return final === 0 || final === FINAL_RIEUL ? '로' : '으로';
  }
  if (DIGITS_WITH_FINAL.includes(last) || LETTERS_WITH_FINAL.includes(last.toUpperCase())) return '으로';
  return '로';
}
