/** The list envelope of DESIGN.md section 6, with the paging defaults applied. */
export type PageRequest = { page?: number; size?: number };

export function pageWindow(request: PageRequest): { page: number; size: number; offset: number } {
  const page = request.page ?? 0;
  const size = request.size ?? 20;
  return { page, size, offset: page * size };
}
