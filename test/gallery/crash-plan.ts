/** How many faces the crash test's child gives person i: uneven, so a half-written person would show. */
export const facesFor = (i: number): number => 40 + (i % 7) * 30;
