/**
 * A response's JSON body, typed as the shape the test expects (`res.json()` is `any`). The cast checks nothing:
 * the test's own assertions on the body do.
 */
export const jsonOf = async <T>(res: Response): Promise<T> => (await res.json()) as T;
