// The temperature slider is quadratic, so its low end (where T changes the distribution most) gets the fine steps:
// position s in 0…100 gives T = T_MAX · (s / 100)².
export const T_MAX = 5;
export const sliderToT = (s) => Math.round(T_MAX * (s / 100) ** 2 * 1000) / 1000;
export const tToSlider = (t) => Math.round(100 * Math.sqrt(Math.min(t, T_MAX) / T_MAX));
